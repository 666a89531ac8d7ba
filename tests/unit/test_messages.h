// Encoded heartbeats and leaves for tests that feed a Node datagrams.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "transport/keyring.h"
#include "transport/wire_format.h"

namespace vigil::testing {

inline std::vector<std::uint8_t> EncodedMessage(std::string_view from, std::uint64_t incarnation,
                                                std::uint64_t sequence,
                                                MessageType type = MessageType::kHeartbeat,
                                                std::uint8_t version = kWireVersion) {
  Message m;
  m.version = version;
  m.type = type;
  m.sender_id = from;
  m.incarnation = incarnation;
  m.sequence = sequence;
  m.interval_us = 100000;
  std::vector<std::uint8_t> out(kMaxMessageSize);
  out.resize(Encode(m, out));
  return out;
}

// A heartbeat signed with `key` (left unsigned when null) in wire `version` (2 or 3).
inline std::vector<std::uint8_t> SignedMessage(const Key* key, std::string_view from,
                                               std::uint64_t incarnation, std::uint64_t sequence,
                                               std::uint8_t version = kWireVersion) {
  std::vector<std::uint8_t> out =
      EncodedMessage(from, incarnation, sequence, MessageType::kHeartbeat, version);
  if (!key) return out;
  const std::size_t size = out.size();
  out.resize(kMaxMessageSize);
  out.resize(Sign(out, size, *key));
  return out;
}

}  // namespace vigil::testing
