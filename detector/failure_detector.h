// The interface every failure detector implements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/time.h"

namespace vigil {

struct IntervalStats {
  std::size_t samples = 0;
  double mean_ms = 0;
  double stddev_ms = 0;
};

// An accrual failure detector for one peer: it is told when heartbeats arrive and answers
// how suspicious the current silence is. A detector never reads a clock; all times come from
// the caller and must come from one monotonic clock.
//
// Level(now) is the suspicion level: 0 before the first heartbeat, never NaN, possibly
// +infinity, and never decreasing while no heartbeat arrives. A peer is judged unavailable
// once the level reaches threshold().
//
// Because the level only grows with silence, CrossingTime(level) answers when a given level
// will be reached if no heartbeat arrives: the daemon schedules that moment instead of
// polling. For every t >= CrossingTime(x): Level(t) >= x (to floating-point precision).
//
// Not thread-safe; each detector has one owner.
class FailureDetector {
 public:
  virtual ~FailureDetector() = default;

  // Records a heartbeat that arrived at `now`. A `now` earlier than the last heartbeat is
  // ignored (the monotonic clock does not go back; such a call is a caller bug or a replay).
  // `sequence` is the heartbeat's number in the sender's current run: strictly increasing,
  // a gap means heartbeats were lost; 0 when unknown. Detectors that do not model loss
  // ignore it.
  virtual void Heartbeat(MonoTime now, std::uint64_t sequence) = 0;
  void Heartbeat(MonoTime now) { Heartbeat(now, 0); }

  // Records a heartbeat that starts a new run (the peer restarted): the silence before it is
  // not learned as an interval.
  virtual void Rebase(MonoTime now, std::uint64_t sequence) = 0;
  void Rebase(MonoTime now) { Rebase(now, 0); }

  virtual double Level(MonoTime now) const = 0;

  // The earliest time at which Level() >= level, assuming no further heartbeat. nullopt when
  // it will never happen (no heartbeat yet).
  virtual std::optional<MonoTime> CrossingTime(double level) const = 0;

  // The level at which the peer is judged unavailable.
  virtual double threshold() const = 0;

  // The time of the last heartbeat, if any.
  virtual std::optional<MonoTime> last_heartbeat() const = 0;

  virtual IntervalStats Stats() const = 0;

  // Heap bytes owned by the detector (for the per-peer memory figure).
  virtual std::size_t HeapBytes() const = 0;

  bool IsAvailable(MonoTime now) const { return Level(now) < threshold(); }
};

}  // namespace vigil
