#include "detector/peer_state.h"

namespace vigil {

std::string_view PeerStateName(PeerState state) {
  switch (state) {
    case PeerState::kUnknown:
      return "unknown";
    case PeerState::kUp:
      return "up";
    case PeerState::kSuspect:
      return "suspect";
    case PeerState::kDown:
      return "down";
    case PeerState::kLeft:
      return "left";
  }
  return "unknown";
}

std::optional<PeerState> ParsePeerState(std::string_view name) {
  for (auto s : {PeerState::kUnknown, PeerState::kUp, PeerState::kSuspect, PeerState::kDown,
                 PeerState::kLeft}) {
    if (PeerStateName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view TransitionReasonName(TransitionReason reason) {
  switch (reason) {
    case TransitionReason::kFirstHeartbeat:
      return "first-heartbeat";
    case TransitionReason::kHeartbeat:
      return "heartbeat";
    case TransitionReason::kSuspicion:
      return "suspicion";
    case TransitionReason::kSilence:
      return "silence";
    case TransitionReason::kRestart:
      return "restart";
    case TransitionReason::kLeave:
      return "leave";
  }
  return "heartbeat";
}

}  // namespace vigil
