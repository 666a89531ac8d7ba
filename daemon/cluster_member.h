// vigild as a cluster member (docs/membership.md, "vigild as a member"): the shell around
// membership::MembershipNode. It checks membership datagrams and the heartbeats of members,
// hands them to the member, and turns what the member asks to send into signed datagrams
// to the members' contacts. Sans-I/O but for the `send` it is given: fed bytes and time, so
// tests drive it without sockets; the Daemon owns its timer.
#pragma once

#include <boost/asio/ip/udp.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/time.h"
#include "config/config.h"
#include "daemon/event_ring.h"
#include "daemon/receive_overflow.h"
#include "membership/gossip_wire.h"
#include "membership/membership_node.h"
#include "transport/keyring.h"
#include "transport/wire_format.h"

namespace vigil {

// vigild's contact (docs/membership.md, "Contacts"): the IPv6 address (an IPv4 one as
// ::ffff:a.b.c.d), 16 bytes, then the port, 2 bytes big-endian.
inline constexpr std::size_t kContactSize = 18;
std::string EncodeContact(const boost::asio::ip::udp::endpoint& where);
// nullopt unless `contact` is kContactSize bytes; an IPv4-mapped address comes back as IPv4.
std::optional<boost::asio::ip::udp::endpoint> DecodeContact(std::string_view contact);
// `at` with an IPv4-mapped IPv6 address (what a dual-stack socket uses) as plain IPv4.
boost::asio::ip::udp::endpoint Unmapped(const boost::asio::ip::udp::endpoint& at);

// What the member's shell counts (metrics: vigil_cluster_*).
struct ClusterCounters {
  std::array<std::uint64_t, static_cast<std::size_t>(membership::GossipReject::kCount)>
      gossip_rejected{};
  std::uint64_t gossip_received = 0;      // membership datagrams taken
  std::uint64_t heartbeats_received = 0;  // member heartbeats taken
  // Member heartbeats refused: with no trailer, with a key id the keyring lacks, or with a
  // tag that does not verify.
  std::uint64_t heartbeats_unauthenticated = 0;
  std::uint64_t heartbeats_unknown_key = 0;
  std::uint64_t heartbeats_bad_mac = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t send_failures = 0;  // the socket refused the datagram
  std::uint64_t no_contact = 0;     // to a member whose address is not known: not sent
};

// Not thread-safe; the daemon's loop thread.
class ClusterMember {
 public:
  // Sends one datagram; false if the socket refused it.
  using Send =
      std::function<bool(std::span<const std::uint8_t>, const boost::asio::ip::udp::endpoint&)>;

  // Requires a validated config with cluster.seeds (which implies a keyring: `keyring` is
  // it) and an IP advertise address or bind address. Starts joining through the seeds;
  // a seed whose address is this node's own (advertised or bound) is skipped.
  // `incarnation` > 0.
  ClusterMember(const Config& config, Keyring keyring, std::uint64_t incarnation, MonoTime now,
                Send send);
  ~ClusterMember();

  // A membership datagram (type 3) from `from`: rejected unless it decodes and its
  // trailer verifies, and refused unless it is fresh (membership::ReplayGuard:
  // "unconfirmed", which is answered, or "old_sequence"); else the member takes it, and what
  // it answers is sent. Returns the reason (a metric label value) if it was not taken; it is
  // counted (a refusal by the member, MembershipNode::refused).
  std::optional<std::string_view> OnGossip(std::span<const std::uint8_t> datagram,
                                           const boost::asio::ip::udp::endpoint& from,
                                           MonoTime now);
  // A heartbeat `message`, decoded from `datagram`, from a sender that is not one of this
  // node's peers: a member's. Rejected unless its trailer verifies, refused unless it is
  // fresh: returns the reason (heartbeat_unauthenticated, heartbeat_unknown_key,
  // heartbeat_bad_mac, heartbeat_unconfirmed, heartbeat_old_sequence), counted.
  std::optional<std::string_view> OnHeartbeat(const Message& message,
                                              std::span<const std::uint8_t> datagram,
                                              const boost::asio::ip::udp::endpoint& from,
                                              MonoTime now);
  // The heartbeat interval it runs at (heartbeat.interval when it started).
  Duration interval() const;
  // Seeds this member asks (cluster.seeds less its own address; a host name counts).
  std::size_t seed_count() const { return seeds_.size(); }
  // The seeds given as host names, by the internal id they go by, in the config's order.
  // The Daemon resolves them (again and again) and says where each is with SetSeedAddress;
  // until then, what the member sends one is not sent (counted as no_contact).
  std::vector<std::pair<std::string, Endpoint>> NamedSeeds() const;
  enum class SeedChange : std::uint8_t { kNone, kMoved, kSelf };
  // The named seed `id` is at `at` now: kMoved if that is news, kSelf if it is newly found
  // to be this node's own address (then nothing is sent to it), else kNone.
  SeedChange SetSeedAddress(const std::string& id, const boost::asio::ip::udp::endpoint& at);
  // Where seed `id` is sent to now; nullopt if nowhere.
  std::optional<boost::asio::ip::udp::endpoint> SeedAddress(const std::string& id) const;
  // Named seeds with no address yet (never resolved; not counting one that is this node).
  std::size_t unresolved_seeds() const;
  // A reload: signs with the new primary key and accepts the new ring's keys from now on.
  void SetKeyring(Keyring keyring);
  // Runs what is due (heartbeats to the observers, detectors, joins, anti-entropy).
  void Tick(MonoTime now);
  MonoTime NextWakeup() const { return member_->NextWakeup(); }
  // vigild stops: tells this member's neighbours that it leaves (twice, in case a copy is
  // lost; docs/membership.md, "Leaving"). Returns how many members it sent the leave to (0
  // while it still joins, or alone). Nothing else may be called after it.
  std::size_t Leave(MonoTime now);
  // This node did not run for a while (the local-health guard saw a stall): its observers'
  // silence is not learnt, and it reports nobody until `until`.
  void Abstain(MonoTime until);
  // The socket's kernel drop count (SO_MEMINFO), read at `now`: while it rises this member
  // reports nobody (ReceiveOverflow), for max_hold at most; logged when an episode starts,
  // when it reaches max_hold, and when it ends.
  // Returns what changed, so the caller can update what it shows.
  ReceiveOverflow::Change ObserveKernelDrops(MonoTime now, std::uint64_t drops);
  const ReceiveOverflow& overflow() const { return overflow_; }

  const membership::MembershipNode& member() const { return *member_; }
  const ClusterCounters& counters() const { return counters_; }
  // When `id` last came into this node's view (the list it copied when it joined included)
  // or was taken out of it; nullopt if neither happened in this run (itself; a member
  // taken out elsewhere, learnt from a listing).
  std::optional<MonoTime> Since(const std::string& id) const;
  // Where `id` is, as its contact says; nullopt if not known.
  std::optional<boost::asio::ip::udp::endpoint> Where(std::string_view id) const;
  // Called with each change of this node's view (EventRecord::member; id and time unset):
  // a member taken out (to down or left, reason agreement or dispute), or added (to up,
  // reason admitted; from down or left if this node took it out in this run within
  // tombstone_lifetime, else unknown). Not for the members of the list copied when this
  // node joins (for the first member of a cluster: those admitted when it starts alone).
  void set_event_listener(std::function<void(EventRecord)> f) { on_event_ = std::move(f); }

 private:
  void Flush(MonoTime now);
  void SendHeartbeats(MonoTime now);
  void SendGossip(const std::string& to, const membership::Gossip& gossip, MonoTime now);
  void Transmit(std::span<const std::uint8_t> bytes, std::string_view to);
  void NoteChange(const std::string& id, MonoTime now);
  void Removed(const std::string& id, MonoTime now);
  void Added(const std::string& id, MonoTime now);
  bool IsSelf(const boost::asio::ip::udp::endpoint& at) const;

  std::string self_;
  Duration interval_;
  Keyring keyring_;
  Send send_;
  // Seeds go by ids no member can have ("seed:0", ...): the member asks them by that name.
  struct Seed {
    Endpoint configured;
    std::optional<boost::asio::ip::udp::endpoint> at;  // where it is sent; none: not known
    bool self = false;  // a name that resolved to this node's own address
  };
  std::unordered_map<std::string, Seed> seeds_;
  boost::asio::ip::udp::endpoint own_;    // advertised (or bound) address
  boost::asio::ip::udp::endpoint bound_;
  membership::GraphSource source_;
  std::unique_ptr<membership::MembershipNode> member_;  // refers to source_
  membership::Outbox out_;
  std::unordered_map<std::string, MonoTime> since_;
  // Members taken out in this run: as what, and when.
  std::unordered_map<std::string, std::pair<PeerState, MonoTime>> taken_out_;
  bool copying_ = false;  // in the Tick that applies the list copied when joining
  Duration tombstone_lifetime_{};
  std::function<void(EventRecord)> on_event_;
  ClusterCounters counters_;
  ReceiveOverflow overflow_;
};

}  // namespace vigil
