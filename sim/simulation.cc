#include "sim/simulation.h"

#include <algorithm>

namespace vigil::sim {

Timestamp SimulatedClock::Now() const {
  // 2027-01-15T08:00:00Z plus the simulated monotonic time.
  const WallTime epoch{std::chrono::seconds(1'800'000'000)};
  return {now_, epoch + std::chrono::duration_cast<WallTime::duration>(now_.time_since_epoch())};
}

void Simulation::At(MonoTime at, std::function<void()> action) {
  queue_.push({std::max(at, now()), queued_++, std::move(action)});
}

std::uint64_t Simulation::RunUntil(MonoTime until) {
  std::uint64_t ran = 0;
  while (!queue_.empty() && queue_.top().at <= until) {
    // Moved out before it runs: the action may queue more.
    auto action = std::move(const_cast<Timed&>(queue_.top()).action);
    clock_.Set(queue_.top().at);
    queue_.pop();
    action();
    ++ran;
  }
  clock_.Set(std::max(until, now()));
  return ran;
}

}  // namespace vigil::sim
