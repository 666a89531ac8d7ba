// The per-peer state machine: unknown -> up -> suspect -> down, left, and restarts.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "detector/failure_detector.h"
#include "detector/peer_state.h"

namespace vigil {

struct MonitorOptions {
  // Level at which an up peer becomes suspect; unset (or NaN) means no suspect state. Must
  // be below the detector's threshold.
  std::optional<double> suspect_level;
  // Consecutive heartbeats (with no conviction between them) before a down peer is up.
  std::uint32_t rise = 1;
};

// What happened to a heartbeat or leave message.
enum class Verdict : std::uint8_t {
  kAccepted,
  kStaleIncarnation,  // from an older incarnation than the one known: ignored
  kAfterLeave,        // same incarnation as a leave already seen: ignored
};

// Owns one peer's detector and turns its level into states. Transitions happen only inside
// OnHeartbeat, OnLeave and Evaluate, each reported to the sink with a fresh id.
//
// Decisions on silence compare `now` with the detector's crossing time, the same moment
// NextDeadline() reports, so a deadline that fires always finds the transition it was set for.
//
// Not thread-safe; one owner. OnHeartbeat does not allocate.
class PeerMonitor {
 public:
  PeerMonitor(PeerIndex index, std::unique_ptr<FailureDetector> detector,
              const MonitorOptions& options);

  // A heartbeat from `incarnation` arrived at `now`. `sequence` is its sequence number
  // within the incarnation (new ones only: the caller filters replays and reordering), or 0
  // when unknown; detectors that model loss use the gaps.
  Verdict OnHeartbeat(MonoTime now, std::uint64_t incarnation, EventIdSource& ids,
                      TransitionSink& sink, std::uint64_t sequence = 0);

  // The peer announced a clean shutdown of `incarnation`.
  Verdict OnLeave(MonoTime now, std::uint64_t incarnation, EventIdSource& ids,
                  TransitionSink& sink);

  // Applies any transition due by `now` (suspect, down).
  void Evaluate(MonoTime now, EventIdSource& ids, TransitionSink& sink);

  // When Evaluate next has something to decide if no heartbeat arrives; nullopt if never.
  std::optional<MonoTime> NextDeadline() const;

  // Applies a configuration change: `options`, and either `retune` (which adjusts the
  // current detector in place and returns true, keeping its history) or, if that returns
  // false, `replacement`, which continues from the last heartbeat. State, since,
  // incarnation and counters are kept. Emits no event: the next Evaluate decides.
  void Reconfigure(const MonitorOptions& options,
                   const std::function<bool(FailureDetector&)>& retune,
                   const std::function<std::unique_ptr<FailureDetector>()>& replacement);

  // Takes what a previous run of the daemon knew (from the state file) before anything is
  // heard in this run: the peer keeps `state` (any but kUnknown) and `incarnation`, so older
  // incarnations are still rejected as stale. A restored kUp or kSuspect peer that is not
  // heard by `judge_at` goes down on silence: a state from the past is shown, never kept
  // alive without evidence. The first heartbeat continues the state (a down peer counts
  // it towards `rise`); a newer incarnation is a restart. No-op once anything was heard.
  void Restore(PeerState state, std::uint64_t incarnation, MonoTime judge_at);

  // True while the state comes from a previous run and nothing was heard in this one.
  bool restored() const { return restored_; }

  // True once an incarnation is known (heard, or restored).
  bool incarnation_known() const { return heard_ || incarnation_ > 0; }

  void set_index(PeerIndex index) { index_ = index; }

  // The observer itself was not listening for a while (stopped, starved, suspended): the
  // silence up to the next heartbeat is not learned as an interval.
  void MarkObservationGap() { rebase_next_ = true; }

  PeerState state() const { return state_; }
  MonoTime since() const { return since_; }
  std::uint64_t incarnation() const { return incarnation_; }
  std::uint64_t flaps() const { return flaps_; }
  std::uint32_t rise_progress() const { return rise_progress_; }
  const FailureDetector& detector() const { return *detector_; }
  double Level(MonoTime now) const { return detector_->Level(now); }
  PeerIndex index() const { return index_; }

 private:
  void Move(PeerState to, MonoTime now, TransitionReason reason, EventIdSource& ids,
            TransitionSink& sink);
  Verdict FirstHeartbeat(MonoTime now, std::uint64_t incarnation, std::uint64_t sequence,
                         EventIdSource& ids, TransitionSink& sink);
  bool Crossed(double level, MonoTime now) const;

  bool has_suspect_level() const { return !std::isnan(suspect_level_); }
  void SetOptions(const MonitorOptions& options);

  // Laid out to pack: a peer table holds a million monitors (docs/benchmarks.md, memory).
  std::unique_ptr<FailureDetector> detector_;
  MonoTime since_{};
  std::uint64_t incarnation_ = 0;
  std::uint64_t flaps_ = 0;
  // Restored up/suspect: down if unheard by then. kNever: not judged so.
  MonoTime judge_restored_at_ = kNever;
  double suspect_level_ = 0;  // MonitorOptions::suspect_level; NaN when unset
  PeerIndex index_;
  std::uint32_t rise_ = 1;
  std::uint32_t rise_progress_ = 0;
  PeerState state_ = PeerState::kUnknown;
  bool heard_ = false;
  bool rebase_next_ = false;
  bool restored_ = false;
};

}  // namespace vigil
