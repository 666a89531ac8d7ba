// Peer states and the transition events the state machine emits.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/time.h"

namespace vigil {

enum class PeerState : std::uint8_t {
  kUnknown,  // configured, never heard from
  kUp,
  kSuspect,  // past the optional warning level, not yet down
  kDown,
  kLeft,  // said goodbye on a clean shutdown: not a failure
};

enum class TransitionReason : std::uint8_t {
  kFirstHeartbeat,  // unknown -> up
  kHeartbeat,       // suspect/down -> up after heartbeats resumed
  kSuspicion,       // crossed the suspect level
  kSilence,         // crossed the down threshold
  kRestart,         // a heartbeat with a newer incarnation
  kLeave,           // the peer announced a clean shutdown
};

std::string_view PeerStateName(PeerState state);
std::optional<PeerState> ParsePeerState(std::string_view name);
std::string_view TransitionReasonName(TransitionReason reason);

using PeerIndex = std::uint32_t;

// One state change. Ids strictly increase across all peers of one EventIdSource.
struct Transition {
  std::uint64_t id = 0;
  PeerIndex peer = 0;
  PeerState from = PeerState::kUnknown;
  PeerState to = PeerState::kUnknown;
  MonoTime at{};
  double level = 0;  // the detector's suspicion level at `at`
  TransitionReason reason = TransitionReason::kHeartbeat;
  std::uint64_t incarnation = 0;
};

// Hands out strictly increasing event ids, starting after `last`.
class EventIdSource {
 public:
  explicit EventIdSource(std::uint64_t last = 0) : last_(last) {}
  std::uint64_t Next() { return ++last_; }
  std::uint64_t last() const { return last_; }

 private:
  std::uint64_t last_;
};

// Receives transitions as the state machine makes them.
class TransitionSink {
 public:
  virtual ~TransitionSink() = default;
  virtual void OnTransition(const Transition& transition) = 0;
};

}  // namespace vigil
