#include "detector/detector_options.h"

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

ExponentialOptions ToExponential(const DetectorOptions& options, Duration heartbeat_interval) {
  ExponentialOptions o;
  o.threshold = options.threshold;
  o.window_size = options.max_sample_size;
  o.heartbeat_interval = heartbeat_interval;
  o.max_interval = options.max_interval;
  return o;
}

PhiAccrualOptions ToPhi(const DetectorOptions& options, Duration heartbeat_interval) {
  PhiAccrualOptions o;
  o.threshold = options.threshold;
  o.max_sample_size = options.max_sample_size;
  o.min_std_deviation = options.min_std_deviation;
  o.acceptable_heartbeat_pause = options.acceptable_heartbeat_pause;
  o.first_heartbeat_estimate = options.first_heartbeat_estimate > Duration::zero()
                                   ? options.first_heartbeat_estimate
                                   : heartbeat_interval;
  return o;
}

AdaptiveOptions ToAdaptive(const DetectorOptions& options, Duration heartbeat_interval) {
  AdaptiveOptions o;
  o.heartbeat_interval = heartbeat_interval;
  o.memory = options.memory;
  o.margin = options.margin;
  o.target_mistakes_per_hour = options.target_mistakes_per_hour;
  return o;
}

}  // namespace

std::unique_ptr<FailureDetector> MakeDetector(const DetectorOptions& options,
                                              Duration heartbeat_interval) {
  switch (options.kind) {
    case DetectorKind::kPhiExponential:
      return std::make_unique<ExponentialDetector>(ToExponential(options, heartbeat_interval));
    case DetectorKind::kTimeout:
      return std::make_unique<TimeoutDetector>(TimeoutOptions{options.timeout});
    case DetectorKind::kAdaptive:
      return std::make_unique<AdaptiveDetector>(ToAdaptive(options, heartbeat_interval));
    case DetectorKind::kPhi:
      break;
  }
  return std::make_unique<PhiAccrualDetector>(ToPhi(options, heartbeat_interval));
}

bool RetuneDetector(FailureDetector& detector, const DetectorOptions& options,
                    Duration heartbeat_interval) {
  switch (options.kind) {
    case DetectorKind::kPhi:
      if (auto* d = dynamic_cast<PhiAccrualDetector*>(&detector)) {
        return d->Retune(ToPhi(options, heartbeat_interval));
      }
      return false;
    case DetectorKind::kPhiExponential:
      if (auto* d = dynamic_cast<ExponentialDetector*>(&detector)) {
        return d->Retune(ToExponential(options, heartbeat_interval));
      }
      return false;
    case DetectorKind::kTimeout:
      if (auto* d = dynamic_cast<TimeoutDetector*>(&detector)) {
        d->Retune(TimeoutOptions{options.timeout});
        return true;
      }
      return false;
    case DetectorKind::kAdaptive:
      if (auto* d = dynamic_cast<AdaptiveDetector*>(&detector)) {
        d->Retune(ToAdaptive(options, heartbeat_interval));
        return true;
      }
      return false;
  }
  return false;
}

std::optional<double> SuspectLevel(const DetectorOptions& options) {
  if (options.kind == DetectorKind::kTimeout) {
    if (!options.suspect_after) return std::nullopt;
    return ToMillis(*options.suspect_after) / ToMillis(options.timeout);
  }
  return options.suspect_threshold;
}

}  // namespace vigil
