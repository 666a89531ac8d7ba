// A seeded generator of heartbeat traces for tests, benchmarks and docs: the network and
// sender behaviours a failure detector meets in practice. Same options and seed, same trace.
//
// Deliberately generic models (AR(1) log-normal jitter, Pareto spikes, Gilbert–Elliott loss,
// Poisson stalls) with round parameters; detectors are judged on traces like these, not
// tuned to them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "quality/trace.h"

namespace vigil {

enum class TraceScenario : std::uint8_t {
  kLan,      // sub-millisecond delay, rare isolated loss
  kWan,      // 30 ms base, heavy-tailed time-correlated jitter, congestion episodes, 0.5 % loss
  kBursty,   // moderate delay, Gilbert–Elliott loss (bursts of several heartbeats)
  kStalls,   // LAN network; the sender stalls 0.2–3 s about every 90 s, then catches up
  kRegimes,  // alternates between calm (LAN-like) and noisy (WAN + bursty loss) periods
};

std::string_view TraceScenarioName(TraceScenario s);
std::optional<TraceScenario> ParseTraceScenario(std::string_view name);
const std::vector<TraceScenario>& AllTraceScenarios();

struct TraceGeneratorOptions {
  TraceScenario scenario = TraceScenario::kLan;
  Duration interval = std::chrono::milliseconds(100);
  Duration length = std::chrono::hours(1);
  std::uint64_t seed = 1;
};

// One peer's received heartbeats over `length`, in arrival order, with send times (sender
// and receiver share a clock here, so detection times are exact).
Trace GenerateTrace(const TraceGeneratorOptions& options);

}  // namespace vigil
