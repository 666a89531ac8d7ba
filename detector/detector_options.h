// Which detector a peer uses and its knobs, as the configuration states them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "detector/failure_detector.h"
#include "base/time.h"

namespace vigil {

enum class DetectorKind : std::uint8_t {
  kPhi,             // Akka-compatible phi accrual (normal model)
  kPhiExponential,  // Cassandra-style phi (exponential model)
  kTimeout,         // fixed timeout
  kAdaptive,        // vigil's adaptive timeout (sequence numbers, expected arrival, envelope)
};

std::string_view DetectorKindName(DetectorKind kind);
std::optional<DetectorKind> ParseDetectorKind(std::string_view name);

struct DetectorOptions {
  DetectorKind kind = DetectorKind::kAdaptive;
  // Level at which a peer is down. For kTimeout the level is silence / timeout and this is
  // fixed at 1.
  double threshold = 8.0;
  // Optional warning level below `threshold` at which the peer is `suspect`.
  std::optional<double> suspect_threshold;
  std::size_t max_sample_size = 1000;
  Duration min_std_deviation = std::chrono::milliseconds(100);
  Duration acceptable_heartbeat_pause = Duration::zero();
  // First-heartbeat estimate; zero means "the peer's heartbeat interval".
  Duration first_heartbeat_estimate = Duration::zero();
  // kTimeout: silence after which the peer is down.
  Duration timeout = std::chrono::seconds(1);
  // kTimeout: optional silence after which the peer is suspect.
  std::optional<Duration> suspect_after;
  // kPhiExponential: longest interval learned; zero means twice the heartbeat interval.
  Duration max_interval = Duration::zero();
  // kAdaptive: half-life of what the detector remembers, the envelope multiplier, and the
  // false-suspicion rate per hour its loss allowance aims for (> 0).
  Duration memory = std::chrono::minutes(60);
  double margin = 1.5;
  double target_mistakes_per_hour = 0.25;
  // Heartbeats needed before a down peer is up again (keepalived's `rise`). >= 1.
  std::uint32_t rise = 1;

  bool operator==(const DetectorOptions&) const = default;
};

// Builds the detector `options` describe for a peer that sends every `heartbeat_interval`.
// Never fails: options are validated by the configuration loader.
std::unique_ptr<FailureDetector> MakeDetector(const DetectorOptions& options,
                                              Duration heartbeat_interval);

// Applies `options` to an existing detector made by MakeDetector, keeping what it has
// learned, when that is possible (same kind and same history size). Returns false, changing
// nothing, when a new detector is needed instead.
bool RetuneDetector(FailureDetector& detector, const DetectorOptions& options,
                    Duration heartbeat_interval);

// The level at which a peer with these options is suspect, if a suspect level is set.
std::optional<double> SuspectLevel(const DetectorOptions& options);

}  // namespace vigil
