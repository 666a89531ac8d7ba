// What a member keeps about each subject it watches, and the sink of its monitors' calls.
// Internal to membership/: the files that implement MembershipNode include it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "detector/peer_monitor.h"
#include "detector/sequence_tracker.h"
#include "membership/membership_node.h"

namespace vigil::membership {

// Collects the transitions of one monitor call.
class MembershipNode::Sink final : public TransitionSink {
 public:
  void OnTransition(const Transition& t) override { moves.push_back(t.to); }
  std::vector<PeerState> moves;
};

struct MembershipNode::Subject {
  std::unique_ptr<PeerMonitor> monitor;
  bool convicted = false;  // its detector has it down, and this node reported it
  std::uint32_t round = 0;  // of this node's last report of it
  MonoTime repeat_at = kNever;  // when the report is repeated, while convicted
  // The heartbeats seen of its newest incarnation heard here: a number seen before (a
  // replay, a duplicate) never reaches the detector, whose Rebase would take it for life.
  SequenceTracker sequences;
  std::uint64_t sequence_incarnation = 0;
  // The latest report of it from each other member (membership/corroboration.cc); at most
  // K long, as only its observers' reports are counted.
  struct HeardReport {
    std::string observer;
    std::uint64_t incarnation = 0;
    MonoTime at;
  };
  std::vector<HeardReport> reports;
  // L of those reports count (MembershipNode::Corroborate) until corroborated_until; they
  // corroborate from corroborated_from (corroboration_wait after the L-th came).
  MonoTime corroborated_from = MonoTime::min();
  MonoTime corroborated_until = MonoTime::min();

  // Whether, corroborated at `now` (from corroborated_from), its detector's level has
  // reached corroborated_level x its threshold and it has been silent for two intervals.
  bool ConvictsCorroborated(const MembershipOptions& options, MonoTime now) const;
  // When ConvictsCorroborated becomes true without another heartbeat (perhaps past);
  // nullopt if it will not before corroborated_until.
  std::optional<MonoTime> CorroboratedDeadline(const MembershipOptions& options) const;
};

}  // namespace vigil::membership
