#include "detector/timeout_detector.h"

#include <algorithm>
#include <cmath>

namespace vigil {

TimeoutDetector::TimeoutDetector(const TimeoutOptions& options) : options_(options) {
  if (options_.timeout <= Duration::zero()) options_.timeout = Duration(1);
}

void TimeoutDetector::Heartbeat(MonoTime now, std::uint64_t /*sequence*/) {
  if (last_) {
    if (now < *last_) return;
    const double x = MillisBetween(*last_, now);
    ++samples_;
    const double delta = x - mean_ms_;
    mean_ms_ += delta / static_cast<double>(samples_);
    m2_ += delta * (x - mean_ms_);
  }
  last_ = now;
}

void TimeoutDetector::Rebase(MonoTime now, std::uint64_t /*sequence*/) {
  if (!last_ || now >= *last_) last_ = now;
}

double TimeoutDetector::Level(MonoTime now) const {
  if (!last_) return 0.0;
  return std::max(0.0, MillisBetween(*last_, now)) / ToMillis(options_.timeout);
}

std::optional<MonoTime> TimeoutDetector::CrossingTime(double level) const {
  if (!last_) return std::nullopt;
  if (!(level > 0)) return *last_;
  const double diff = level * ToMillis(options_.timeout);
  if (diff > 1e12) return kNever;
  return AddSaturated(*last_, CeilMillisToDuration(diff));
}

IntervalStats TimeoutDetector::Stats() const {
  const double var = samples_ > 1 ? m2_ / static_cast<double>(samples_) : 0.0;
  return {samples_, mean_ms_, std::sqrt(std::max(0.0, var))};
}

}  // namespace vigil
