#include "daemon/cluster_member.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "daemon/local_health.h"

namespace vigil {

namespace asio = boost::asio;
using asio::ip::udp;

std::string EncodeContact(const udp::endpoint& where) {
  const asio::ip::address a = where.address();
  const asio::ip::address_v6 v6 =
      a.is_v4() ? asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()) : a.to_v6();
  const auto bytes = v6.to_bytes();
  std::string contact(bytes.begin(), bytes.end());
  contact.push_back(static_cast<char>(where.port() >> 8));
  contact.push_back(static_cast<char>(where.port() & 0xff));
  return contact;
}

std::optional<udp::endpoint> DecodeContact(std::string_view contact) {
  if (contact.size() != kContactSize) return std::nullopt;
  asio::ip::address_v6::bytes_type bytes;
  std::copy_n(contact.begin(), bytes.size(), bytes.begin());
  const asio::ip::address_v6 v6(bytes);
  const auto port = static_cast<std::uint16_t>(
      (static_cast<unsigned char>(contact[16]) << 8) | static_cast<unsigned char>(contact[17]));
  if (v6.is_v4_mapped()) {
    return udp::endpoint(asio::ip::make_address_v4(asio::ip::v4_mapped, v6), port);
  }
  return udp::endpoint(v6, port);
}

udp::endpoint Unmapped(const udp::endpoint& at) {
  const asio::ip::address a = at.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return udp::endpoint(asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()), at.port());
  }
  return at;
}

namespace {

udp::endpoint ToUdp(const Endpoint& e) {
  return udp::endpoint(asio::ip::make_address(e.host), e.port);
}

// The reason (a metric label value) a datagram the member did not take goes by.
std::optional<std::string_view> RefusalReason(membership::Freshness verdict, bool heartbeat) {
  switch (verdict) {
    case membership::Freshness::kFresh:
      return std::nullopt;
    case membership::Freshness::kUnconfirmed:
      return heartbeat ? "heartbeat_unconfirmed" : "unconfirmed";
    case membership::Freshness::kOldSequence:
      break;
  }
  return heartbeat ? "heartbeat_old_sequence" : "old_sequence";
}

}  // namespace

ClusterMember::ClusterMember(const Config& config, Keyring keyring, std::uint64_t incarnation,
                             MonoTime now, Send send)
    : self_(config.node.id),
      interval_(config.heartbeat.interval),
      keyring_(std::move(keyring)),
      send_(std::move(send)),
      overflow_({.listen_window = LocalHealthOptionsFor(interval_).listen_window}) {
  own_ = ToUdp(config.node.advertise ? *config.node.advertise : config.node.bind);
  bound_ = ToUdp(config.node.bind);
  membership::MembershipOptions o;
  o.self = self_;
  o.contact = EncodeContact(own_);
  o.interval = interval_;
  o.incarnation = incarnation;
  for (const Endpoint& seed : config.cluster.seeds) {
    Seed s{seed, std::nullopt};
    if (seed.kind != Endpoint::HostKind::kName) {
      s.at = ToUdp(seed);
      if (IsSelf(*s.at)) continue;
    }
    std::string id = "seed:" + std::to_string(seeds_.size());
    o.seeds.push_back(id);
    seeds_.emplace(std::move(id), std::move(s));
  }
  tombstone_lifetime_ = o.tombstone_lifetime;
  member_ = std::make_unique<membership::MembershipNode>(std::move(o), source_, now);
  member_->set_on_removed([this](const std::string& id, MonoTime at) { Removed(id, at); });
  member_->set_on_readmitted([this](const std::string& id, MonoTime at) { Added(id, at); });
}

void ClusterMember::Removed(const std::string& id, MonoTime now) {
  NoteChange(id, now);
  const auto status = member_->StatusOf(id);  // its tombstone: just made
  if (!status) return;
  EventRecord e;
  e.member = true;
  e.peer = id;
  // A cut takes out members whose failure was stable (shown as suspect); a dispute lost,
  // a member that stayed up in this node's view.
  const bool agreed = status->provenance == membership::Provenance::kAgreement;
  e.from = agreed ? PeerState::kSuspect : PeerState::kUp;
  e.to = status->state == membership::MemberState::kLeft ? PeerState::kLeft : PeerState::kDown;
  spdlog::info("cluster: member '{}' taken out ({})", id, PeerStateName(e.to));
  e.member_reason = agreed ? MemberReason::kAgreement : MemberReason::kDispute;
  e.incarnation = status->incarnation;
  if (agreed) {  // at most kMaxObservers (64)
    e.reports = static_cast<std::uint8_t>(status->reports);
    e.observers = static_cast<std::uint8_t>(status->observers);
  }
  taken_out_[id] = {e.to, now};
  if (on_event_) on_event_(std::move(e));
}

void ClusterMember::Added(const std::string& id, MonoTime now) {
  spdlog::debug("cluster: member '{}' in this node's view", id);
  NoteChange(id, now);
  // The list copied when joining is not news of the members: a client reads /v1/members.
  if (copying_) return;
  EventRecord e;
  e.member = true;
  e.peer = id;
  // As this node took it out, while it would still remember that (tombstone_lifetime).
  e.from = PeerState::kUnknown;
  if (const auto out = taken_out_.find(id); out != taken_out_.end()) {
    if (now - out->second.second < tombstone_lifetime_) {
      e.from = out->second.first;
    }
    taken_out_.erase(out);
  }
  e.to = PeerState::kUp;
  e.member_reason = MemberReason::kAdmitted;
  e.incarnation = member_->IncarnationOf(id);
  if (on_event_) on_event_(std::move(e));
}

ClusterMember::~ClusterMember() = default;

std::optional<std::string_view> ClusterMember::OnGossip(std::span<const std::uint8_t> datagram,
                                                        const udp::endpoint& from,
                                                        MonoTime now) {
  membership::MembershipDatagram d;
  membership::GossipReject why{};
  if (!membership::DecodeGossip(datagram, &keyring_, true, &d, &why)) {
    ++counters_.gossip_rejected[static_cast<std::size_t>(why)];
    return membership::GossipRejectName(why);
  }
  const membership::Stamp stamp{d.header.incarnation, d.header.sequence, d.header.echo};
  const membership::Freshness verdict =
      member_->ReceiveGossip(d.gossip, d.header.sender, stamp, now, out_, EncodeContact(from));
  Flush(now);  // an unconfirmed one is answered
  if (verdict == membership::Freshness::kFresh) ++counters_.gossip_received;
  return RefusalReason(verdict, false);
}

std::optional<std::string_view> ClusterMember::OnHeartbeat(
    const Message& message, std::span<const std::uint8_t> datagram, const udp::endpoint& from,
    MonoTime now) {
  if (!message.authenticated) {
    ++counters_.heartbeats_unauthenticated;
    return "heartbeat_unauthenticated";
  }
  switch (Verify(datagram, message, keyring_)) {
    case AuthResult::kOk:
      break;
    case AuthResult::kUnknownKey:
      ++counters_.heartbeats_unknown_key;
      return "heartbeat_unknown_key";
    case AuthResult::kBadTag:
      ++counters_.heartbeats_bad_mac;
      return "heartbeat_bad_mac";
  }
  const membership::Stamp stamp{message.incarnation, message.sequence, message.echo};
  const membership::Freshness verdict =
      member_->ReceiveHeartbeat(message.sender_id, stamp, now, out_, EncodeContact(from));
  Flush(now);
  if (verdict == membership::Freshness::kFresh) ++counters_.heartbeats_received;
  return RefusalReason(verdict, true);
}

bool ClusterMember::IsSelf(const udp::endpoint& at) const {
  const udp::endpoint plain = Unmapped(at);  // a dual-stack socket's form of an IPv4 one
  return plain == own_ || plain == bound_;
}

std::optional<udp::endpoint> ClusterMember::SeedAddress(const std::string& id) const {
  const auto it = seeds_.find(id);
  return it == seeds_.end() ? std::nullopt : it->second.at;
}

std::vector<std::pair<std::string, Endpoint>> ClusterMember::NamedSeeds() const {
  std::vector<std::pair<std::string, Endpoint>> named;
  for (const auto& [id, seed] : seeds_) {
    if (seed.configured.kind == Endpoint::HostKind::kName) named.emplace_back(id, seed.configured);
  }
  std::sort(named.begin(), named.end(), [](const auto& a, const auto& b) {
    return a.first.size() != b.first.size() ? a.first.size() < b.first.size()
                                            : a.first < b.first;
  });
  return named;
}

ClusterMember::SeedChange ClusterMember::SetSeedAddress(const std::string& id,
                                                        const udp::endpoint& at) {
  const auto it = seeds_.find(id);
  if (it == seeds_.end()) return SeedChange::kNone;
  Seed& seed = it->second;
  if (IsSelf(at)) {
    const bool was = !seed.self;
    seed.self = true;
    seed.at.reset();  // never ask itself
    return was ? SeedChange::kSelf : SeedChange::kNone;
  }
  seed.self = false;
  if (seed.at == at) return SeedChange::kNone;
  seed.at = at;
  return SeedChange::kMoved;
}

std::size_t ClusterMember::unresolved_seeds() const {
  return static_cast<std::size_t>(std::count_if(seeds_.begin(), seeds_.end(), [](const auto& s) {
    return !s.second.at && !s.second.self;
  }));
}

void ClusterMember::SetKeyring(Keyring keyring) { keyring_ = std::move(keyring); }

Duration ClusterMember::interval() const { return interval_; }

void ClusterMember::Tick(MonoTime now) {
  // The Tick that ends the copy of the member list applies it (MembershipNode's SyncStep,
  // then ApplyCut).
  copying_ = member_->syncing();
  member_->Tick(now, out_);
  copying_ = false;
  Flush(now);
}

std::size_t ClusterMember::Leave(MonoTime now) {
  // One datagram to each neighbour per copy: those sent are the members told (not those
  // whose address is not known, nor those the socket refused).
  const std::uint64_t sent_before = counters_.datagrams_sent;
  member_->Leave(out_);
  Flush(now);
  const auto told = static_cast<std::size_t>(counters_.datagrams_sent - sent_before);
  member_->Leave(out_);
  Flush(now);
  return told;
}

void ClusterMember::Abstain(MonoTime until) {
  member_->MarkObservationGap();
  member_->AbstainUntil(until);
}

ReceiveOverflow::Change ClusterMember::ObserveKernelDrops(MonoTime now, std::uint64_t drops) {
  const std::uint64_t before = overflow_.episode_drops();
  const auto change = overflow_.Observe(now, drops);
  // Each rise: the heartbeats lost with it are not learnt as silence, and no report yet.
  if (overflow_.Holding(now) && (change != ReceiveOverflow::Change::kNone ||
                                 overflow_.episode_drops() != before)) {
    Abstain(overflow_.hold_until());
  }
  using Change = ReceiveOverflow::Change;
  const auto ms = [](Duration d) { return static_cast<std::int64_t>(ToMillis(d)); };
  if (change == Change::kStarted) {
    spdlog::warn("cluster: the kernel dropped {} datagram(s) for this node (receive buffer "
                 "full); reporting no member until it has listened for {} ms without a drop",
                 overflow_.episode_drops(), ms(overflow_.hold_until() - now));
  } else if (change == Change::kCapped) {
    spdlog::warn("cluster: datagrams dropped for {} ms without a pause ({} so far): reporting "
                 "members again although some heartbeats are lost; look for a flood, or raise "
                 "net.core.rmem_max", ms(overflow_.episode_length()), overflow_.episode_drops());
  } else if (change == Change::kEnded) {
    spdlog::info("cluster: no datagram dropped for {} ms: reporting members again ({} dropped "
                 "in {} ms)", ms(overflow_.listen_window()), overflow_.episode_drops(),
                 ms(overflow_.episode_length()));
  }
  return change;
}

std::optional<MonoTime> ClusterMember::Since(const std::string& id) const {
  const auto it = since_.find(id);
  if (it == since_.end()) return std::nullopt;
  return it->second;
}

std::optional<udp::endpoint> ClusterMember::Where(std::string_view id) const {
  return DecodeContact(member_->Contact(id));
}

void ClusterMember::Flush(MonoTime now) {
  if (!out_.heartbeats.empty()) SendHeartbeats(now);
  for (const auto& [to, gossip] : out_.gossip) SendGossip(to, gossip, now);
  out_.clear();
}

void ClusterMember::SendHeartbeats(MonoTime now) {
  Message m;
  m.type = MessageType::kHeartbeat;
  m.incarnation = out_.heartbeat_incarnation;
  m.sequence = out_.heartbeat_sequence;
  m.interval_us = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(interval_).count());
  m.send_time_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
  m.sender_id = self_;
  std::array<std::uint8_t, kMaxMessageSize> buffer{};
  for (const std::string& to : out_.heartbeats) {
    // Each observer's copy echoes its incarnation: a copy recorded on the way to one is
    // refused by every other, and by the same one once it has restarted.
    m.echo = member_->EchoFor(to);
    const std::size_t length = Encode(m, buffer);
    const std::size_t signed_length = length > 0 ? Sign(buffer, length, keyring_.primary()) : 0;
    if (signed_length == 0) {  // a valid config always encodes; never sent unsigned
      ++counters_.send_failures;
      continue;
    }
    Transmit(std::span(buffer.data(), signed_length), to);
  }
}

void ClusterMember::SendGossip(const std::string& to, const membership::Gossip& gossip,
                               MonoTime now) {
  const membership::Stamp stamp = member_->StampFor(to);
  const membership::MembershipHeader header{self_, stamp.incarnation, stamp.sequence,
                                            stamp.echo};
  auto datagrams = membership::EncodeGossip(gossip, header, &keyring_.primary());
  if (!datagrams) {  // the member makes only valid records: a bug if it happens
    spdlog::error("cluster: cannot encode gossip to '{}': {}", to, datagrams.message());
    ++counters_.send_failures;
    return;
  }
  member_->Sent(to, datagrams->size(), now);
  for (const auto& bytes : *datagrams) Transmit(bytes, to);
}

void ClusterMember::Transmit(std::span<const std::uint8_t> bytes, std::string_view to) {
  std::optional<udp::endpoint> where;
  if (const auto seed = seeds_.find(std::string(to)); seed != seeds_.end()) {
    where = seed->second.at;
  } else {
    where = Where(to);
  }
  if (!where) {
    ++counters_.no_contact;
    return;
  }
  if (send_(bytes, *where)) {
    ++counters_.datagrams_sent;
  } else {
    ++counters_.send_failures;
  }
}

void ClusterMember::NoteChange(const std::string& id, MonoTime now) {
  since_[id] = now;
  // Members neither held nor remembered as taken out are forgotten, in a pass now and then.
  const std::size_t known = member_->view().size() + member_->tombstone_count();
  if (since_.size() <= 2 * known + 64) return;
  const auto forgotten = [this](const auto& entry) {
    return !member_->view().Find(entry.first) && !member_->taken_out(entry.first);
  };
  std::erase_if(since_, forgotten);
  std::erase_if(taken_out_, forgotten);
}

}  // namespace vigil
