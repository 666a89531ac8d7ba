// Which detector a peer uses and its knobs, as the configuration states them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>

#include "detector/failure_detector.h"
#include "base/time.h"

namespace vigil {

// The order is that of DetectorOptions::KindKnobs.
enum class DetectorKind : std::uint8_t {
  kPhi,             // Akka-compatible phi accrual (normal model)
  kPhiExponential,  // Cassandra-style phi (exponential model)
  kTimeout,         // fixed timeout
  kAdaptive,        // vigil's adaptive timeout (sequence numbers, expected arrival, envelope)
};

std::string_view DetectorKindName(DetectorKind kind);
std::optional<DetectorKind> ParseDetectorKind(std::string_view name);

// The knobs of one kind each. Only the chosen kind's are kept: a knob of another kind does
// nothing, and the configuration refuses it (CheckDetectorOptions).

// kPhi (Akka's phi accrual).
struct PhiKnobs {
  Duration min_std_deviation = std::chrono::milliseconds(100);
  Duration acceptable_heartbeat_pause = Duration::zero();
  // First-heartbeat estimate; zero means "the peer's heartbeat interval".
  Duration first_heartbeat_estimate = Duration::zero();

  bool operator==(const PhiKnobs&) const = default;
};

// kPhiExponential (Cassandra's phi).
struct ExponentialKnobs {
  // Longest interval learned; zero means twice the heartbeat interval.
  Duration max_interval = Duration::zero();

  bool operator==(const ExponentialKnobs&) const = default;
};

// kTimeout.
struct TimeoutKnobs {
  // Silence after which the peer is down.
  Duration timeout = std::chrono::seconds(1);
  // Optional silence after which the peer is suspect.
  std::optional<Duration> suspect_after;

  bool operator==(const TimeoutKnobs&) const = default;
};

// kAdaptive: half-life of what the detector remembers, the envelope multiplier, and the
// false-suspicion rate per hour its loss allowance aims for (> 0).
struct AdaptiveKnobs {
  Duration memory = std::chrono::minutes(60);
  double margin = 1.5;
  double target_mistakes_per_hour = 0.25;

  bool operator==(const AdaptiveKnobs&) const = default;
};

// The fields several kinds share, plus the knobs of the chosen kind. The shared fields are
// kept across a change of kind: a peer's `detector:` overrides apply on top of the defaults
// and may change the kind, yet still inherit, say, the defaults' threshold.
struct DetectorOptions {
  // The alternatives in DetectorKind order: the index is the kind.
  using KindKnobs = std::variant<PhiKnobs, ExponentialKnobs, TimeoutKnobs, AdaptiveKnobs>;

  // Level at which a peer is down (kPhi, kPhiExponential). kTimeout and kAdaptive have a
  // fixed threshold of 1 (silence / allowed silence).
  double threshold = 8.0;
  // Optional warning level below the down level at which the peer is `suspect` (kAdaptive,
  // kPhi, kPhiExponential; kTimeout has suspect_after).
  std::optional<double> suspect_threshold;
  // Inter-arrival intervals remembered (kPhi, kPhiExponential).
  std::size_t max_sample_size = 1000;
  // Heartbeats needed before a down peer is up again (keepalived's `rise`), every kind. >= 1.
  std::uint32_t rise = 1;
  // The kind and its knobs; kAdaptive by default.
  KindKnobs knobs = AdaptiveKnobs{};

  // Which alternative `knobs` holds.
  DetectorKind kind() const { return static_cast<DetectorKind>(knobs.index()); }
  // Switches to `kind` with that kind's default knobs; keeps the knobs if it already is
  // `kind`, so a mapping that restates the kind loses nothing. Shared fields are kept.
  void set_kind(DetectorKind kind);

  // The knobs of kind K, or null when the kind is another.
  template <typename K>
  const K* knobs_if() const {
    return std::get_if<K>(&knobs);
  }
  template <typename K>
  K* knobs_if() {
    return std::get_if<K>(&knobs);
  }

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
