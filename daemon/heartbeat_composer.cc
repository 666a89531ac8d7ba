#include "daemon/heartbeat_composer.h"

#include <algorithm>
#include <chrono>

namespace vigil {

HeartbeatComposer::HeartbeatComposer(std::string node_id, Duration interval,
                                     std::uint64_t incarnation)
    : node_id_(std::move(node_id)), interval_(interval), incarnation_(incarnation) {}

RoundMessage HeartbeatComposer::NewRound(MessageType type, MonoTime now) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  Message m;
  m.type = type;
  m.incarnation = incarnation_;
  m.sequence = ++sequence_;
  m.interval_us = static_cast<std::uint32_t>(duration_cast<microseconds>(interval_).count());
  m.send_time_us =
      static_cast<std::uint64_t>(duration_cast<microseconds>(now.time_since_epoch()).count());
  m.sender_id = node_id_;
  RoundMessage round;
  round.type = type;
  round.size = Encode(m, round.bytes);
  return round;
}

std::size_t HeartbeatComposer::Stamp(const RoundMessage& round, std::uint64_t echo,
                                     std::uint8_t version, std::span<std::uint8_t> out) const {
  if (round.size == 0) return 0;
  std::copy_n(round.bytes.begin(), round.size, out.begin());
  SetVersion(out, version);  // before signing: the version picks the MAC
  // The echo is covered by the MAC, so each receiver's datagram is signed on its own.
  SetEcho(out, echo);
  return keyring_ ? Sign(out, round.size, keyring_->primary()) : round.size;
}

}  // namespace vigil
