// Deterministic simulated time for many vigil nodes in one process (the membership
// simulator of issue 15 builds on this). A Simulation is a clock plus a queue of timed
// actions: "timers" are actions queued at a time, and RunUntil jumps the clock from one to
// the next, so an hour of cluster life takes milliseconds. Same seed, same run.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <vector>

#include "daemon/clock.h"

namespace vigil::sim {

// A Clock whose time only the Simulation moves. Wall time is a fixed epoch plus the
// monotonic time, so displayed times are reproducible too.
class SimulatedClock final : public Clock {
 public:
  Timestamp Now() const override;
  Duration BootOffset() const override { return Duration::zero(); }
  // Requires t >= the current time (time never goes back).
  void Set(MonoTime t) { now_ = t; }

 private:
  MonoTime now_ = MonoTime{} + std::chrono::hours(1);
};

// Not thread-safe: one simulation, one thread.
class Simulation {
 public:
  explicit Simulation(std::uint64_t seed) : rng_(seed) {}

  const SimulatedClock& clock() const { return clock_; }
  MonoTime now() const { return clock_.Now().mono; }
  Timestamp stamp() const { return clock_.Now(); }
  std::mt19937_64& rng() { return rng_; }

  // Runs `action` at `at` (now, if `at` has passed). Actions at the same time run in the
  // order they were queued.
  void At(MonoTime at, std::function<void()> action);
  void After(Duration d, std::function<void()> action) { At(now() + d, std::move(action)); }

  // Runs every action due up to `until` in time order, then sets the clock to `until`.
  // Returns how many actions ran.
  std::uint64_t RunUntil(MonoTime until);
  std::uint64_t RunFor(Duration d) { return RunUntil(now() + d); }

 private:
  struct Timed {
    MonoTime at;
    std::uint64_t order;
    std::function<void()> action;
    bool operator>(const Timed& o) const { return at != o.at ? at > o.at : order > o.order; }
  };
  SimulatedClock clock_;
  std::mt19937_64 rng_;
  std::priority_queue<Timed, std::vector<Timed>, std::greater<>> queue_;
  std::uint64_t queued_ = 0;
};

}  // namespace vigil::sim
