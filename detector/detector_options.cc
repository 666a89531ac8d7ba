#include "detector/detector_options.h"

#include <cstddef>
#include <type_traits>
#include <variant>

#include "detector/adaptive_detector.h"
#include "detector/exponential_detector.h"
#include "detector/phi_accrual_detector.h"
#include "detector/timeout_detector.h"

namespace vigil {

std::string_view DetectorKindName(DetectorKind kind) {
  switch (kind) {
    case DetectorKind::kPhi:
      return "phi";
    case DetectorKind::kPhiExponential:
      return "phi-exponential";
    case DetectorKind::kTimeout:
      return "timeout";
    case DetectorKind::kAdaptive:
      return "adaptive";
  }
  return "phi";
}

std::optional<DetectorKind> ParseDetectorKind(std::string_view name) {
  if (name == "phi") return DetectorKind::kPhi;
  if (name == "phi-exponential") return DetectorKind::kPhiExponential;
  if (name == "timeout") return DetectorKind::kTimeout;
  if (name == "adaptive") return DetectorKind::kAdaptive;
  return std::nullopt;
}

namespace {

// DetectorOptions::kind() reads the variant index as the kind.
template <DetectorKind kKind, typename K>
constexpr bool kIsAlternative =
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(kKind),
                                              DetectorOptions::KindKnobs>,
                   K>;
static_assert(kIsAlternative<DetectorKind::kPhi, PhiKnobs>);
static_assert(kIsAlternative<DetectorKind::kPhiExponential, ExponentialKnobs>);
static_assert(kIsAlternative<DetectorKind::kTimeout, TimeoutKnobs>);
static_assert(kIsAlternative<DetectorKind::kAdaptive, AdaptiveKnobs>);
static_assert(std::variant_size_v<DetectorOptions::KindKnobs> == 4);

}  // namespace

void DetectorOptions::set_kind(DetectorKind kind) {
  // Each kind's defaults, in DetectorKind order (the static_asserts above tie the two).
  static const KindKnobs kDefaults[] = {PhiKnobs{}, ExponentialKnobs{}, TimeoutKnobs{},
                                        AdaptiveKnobs{}};
  if (kind != this->kind()) knobs = kDefaults[static_cast<std::size_t>(kind)];
}

namespace {

ExponentialOptions ToExponential(const DetectorOptions& options, const ExponentialKnobs& knobs,
                                 Duration heartbeat_interval) {
  ExponentialOptions o;
  o.threshold = options.threshold;
  o.window_size = options.max_sample_size;
  o.heartbeat_interval = heartbeat_interval;
  o.max_interval = knobs.max_interval;
  return o;
}

PhiAccrualOptions ToPhi(const DetectorOptions& options, const PhiKnobs& knobs,
                        Duration heartbeat_interval) {
  PhiAccrualOptions o;
  o.threshold = options.threshold;
  o.max_sample_size = options.max_sample_size;
  o.min_std_deviation = knobs.min_std_deviation;
  o.acceptable_heartbeat_pause = knobs.acceptable_heartbeat_pause;
  o.first_heartbeat_estimate = knobs.first_heartbeat_estimate > Duration::zero()
                                   ? knobs.first_heartbeat_estimate
                                   : heartbeat_interval;
  return o;
}

AdaptiveOptions ToAdaptive(const AdaptiveKnobs& knobs, Duration heartbeat_interval) {
  AdaptiveOptions o;
  o.heartbeat_interval = heartbeat_interval;
  o.memory = knobs.memory;
  o.margin = knobs.margin;
  o.target_mistakes_per_hour = knobs.target_mistakes_per_hour;
  return o;
}

}  // namespace

// Each reads the knobs of options.kind(), the alternative the variant holds, so the
// std::get calls below cannot throw.
std::unique_ptr<FailureDetector> MakeDetector(const DetectorOptions& options,
                                              Duration heartbeat_interval) {
  const auto& k = options.knobs;
  switch (options.kind()) {
    case DetectorKind::kPhiExponential:
      return std::make_unique<ExponentialDetector>(
          ToExponential(options, std::get<ExponentialKnobs>(k), heartbeat_interval));
    case DetectorKind::kTimeout:
      return std::make_unique<TimeoutDetector>(TimeoutOptions{std::get<TimeoutKnobs>(k).timeout});
    case DetectorKind::kAdaptive:
      return std::make_unique<AdaptiveDetector>(
          ToAdaptive(std::get<AdaptiveKnobs>(k), heartbeat_interval));
    case DetectorKind::kPhi:
      break;
  }
  return std::make_unique<PhiAccrualDetector>(
      ToPhi(options, std::get<PhiKnobs>(k), heartbeat_interval));
}

bool RetuneDetector(FailureDetector& detector, const DetectorOptions& options,
                    Duration heartbeat_interval) {
  const auto& k = options.knobs;
  switch (options.kind()) {
    case DetectorKind::kPhi:
      if (auto* d = dynamic_cast<PhiAccrualDetector*>(&detector)) {
        return d->Retune(ToPhi(options, std::get<PhiKnobs>(k), heartbeat_interval));
      }
      return false;
    case DetectorKind::kPhiExponential:
      if (auto* d = dynamic_cast<ExponentialDetector*>(&detector)) {
        return d->Retune(
            ToExponential(options, std::get<ExponentialKnobs>(k), heartbeat_interval));
      }
      return false;
    case DetectorKind::kTimeout:
      if (auto* d = dynamic_cast<TimeoutDetector*>(&detector)) {
        d->Retune(TimeoutOptions{std::get<TimeoutKnobs>(k).timeout});
        return true;
      }
      return false;
    case DetectorKind::kAdaptive:
      if (auto* d = dynamic_cast<AdaptiveDetector*>(&detector)) {
        d->Retune(ToAdaptive(std::get<AdaptiveKnobs>(k), heartbeat_interval));
        return true;
      }
      return false;
  }
  return false;
}

std::optional<double> SuspectLevel(const DetectorOptions& options) {
  if (const auto* t = options.knobs_if<TimeoutKnobs>()) {
    if (!t->suspect_after) return std::nullopt;
    return ToMillis(*t->suspect_after) / ToMillis(t->timeout);
  }
  return options.suspect_threshold;
}

}  // namespace vigil
