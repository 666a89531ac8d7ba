// What one member of the cluster is, as this node knows it, and the counts over all of them:
// what vigild's API shows (docs/api.md, "GET /v1/members" and the "cluster" object).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/time.h"

namespace vigil::membership {

enum class MemberState : std::uint8_t {
  kUp,       // in this node's view
  kSuspect,  // in the view, and at least L of its observers' reports count (a failure in
             // progress, CutDetector::Failing)
  kDown,     // taken out, remembered
  kLeft,     // taken out, and it had said it was leaving
};
inline constexpr int kMemberStateCount = 4;
std::string_view MemberStateName(MemberState state);  // "up", "suspect", "down", "left"
std::optional<MemberState> ParseMemberState(std::string_view name);

// Why this node holds what it holds of a member.
enum class Provenance : std::uint8_t {
  kSelf,       // this node itself
  kWatched,    // in the view, and this node is one of its observers
  kView,       // in the view; this node does not watch it
  kAgreement,  // taken out by this node's cut: `reports` of its `observers` agreed
  kDispute,    // taken out by this node after a dispute it lost (the member did not answer)
  kListing,    // taken out elsewhere: learnt from another member's list
};
std::string_view ProvenanceName(Provenance provenance);  // "self", "watched", ...

struct MemberStatus {
  MemberState state = MemberState::kUp;
  Provenance provenance = Provenance::kView;
  // In the view: the newest incarnation known (0: none); taken out: the one taken out at.
  std::uint64_t incarnation = 0;
  // In the view: the observers whose reports about it count now (implicit ones included),
  // of its `observers` in the current graph. Taken out by agreement: both at the cut.
  int reports = 0;
  int observers = 0;
  // The last heartbeat this node took from it as one of its observers (while it watches
  // it; taken out: when it was taken out); nullopt if none.
  std::optional<MonoTime> last_heartbeat;
};

// Counts over this node's view and the members it took out and remembers.
struct ClusterCounts {
  std::size_t members = 0;  // in the view, itself included: up and suspect
  std::size_t suspect = 0;  // of those, suspect
  std::size_t down = 0;     // taken out and remembered, not left
  std::size_t left = 0;     // taken out and remembered, left
  std::size_t watched = 0;  // members this node observes

  // members / (members + down): the share this node still holds of the cluster it knew
  // within the tombstones' lifetime, less the members that left. 1 with no member down.
  double reach() const {
    return members + down == 0 ? 1.0
                               : static_cast<double>(members) /
                                     static_cast<double>(members + down);
  }
  // More than half of that cluster is in this node's view.
  bool majority() const { return members > down; }
};

}  // namespace vigil::membership
