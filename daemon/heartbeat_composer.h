// What this node sends: the datagram of a heartbeat round or a leave, per receiver. Pure:
// fed the time and each receiver's echo, returns bytes; vigild and the simulator (sim/) both
// send through it, so what they put on the wire is the same.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/time.h"
#include "transport/keyring.h"
#include "transport/wire_format.h"

namespace vigil {

// One round's datagram before each receiver's echo and tag: encoded once, stamped per peer.
struct RoundMessage {
  std::array<std::uint8_t, kMaxMessageSize> bytes{};
  std::size_t size = 0;  // 0: could not be encoded (never happens with a valid config)
  MessageType type = MessageType::kHeartbeat;
};

// Not thread-safe (one per node, used from its one thread).
class HeartbeatComposer {
 public:
  // Requires a valid sender id (IsValidSenderId) and an interval > 0.
  HeartbeatComposer(std::string node_id, Duration interval, std::uint64_t incarnation);

  // A new round: the next sequence number (every receiver of the round gets the same one),
  // stamped with `now` as the send time.
  RoundMessage NewRound(MessageType type, MonoTime now);

  // Writes the round's datagram for a receiver whose incarnation we last heard as `echo`
  // and that reads wire `version` (3, or 2 for an older peer) into `out`, signed with the
  // primary key when a keyring is set. Returns its size (0 if `round` could not be
  // encoded). Requires out.size() >= kMaxMessageSize.
  std::size_t Stamp(const RoundMessage& round, std::uint64_t echo, std::uint8_t version,
                    std::span<std::uint8_t> out) const;

  // A reload: the advertised interval and the signing keys change from the next round.
  void set_interval(Duration interval) { interval_ = interval; }
  void set_keyring(std::optional<Keyring> keyring) { keyring_ = std::move(keyring); }
  // The state file raised the incarnation above the previous run's.
  void set_incarnation(std::uint64_t incarnation) { incarnation_ = incarnation; }

  std::uint64_t incarnation() const { return incarnation_; }
  std::uint64_t sequence() const { return sequence_; }

 private:
  std::string node_id_;
  Duration interval_;
  std::uint64_t incarnation_;
  std::uint64_t sequence_ = 0;
  std::optional<Keyring> keyring_;
};

}  // namespace vigil
