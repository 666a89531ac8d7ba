#include "detector/exponential_detector.h"

#include <algorithm>
#include <cmath>

namespace vigil {
namespace {
constexpr double kLn10 = 2.302585092994046;
}  // namespace

ExponentialDetector::ExponentialDetector(const ExponentialOptions& options)
    : options_(options), history_(std::max<std::size_t>(options.window_size, 1)) {}

bool ExponentialDetector::Retune(const ExponentialOptions& options) {
  if (std::max<std::size_t>(options.window_size, 1) != history_.capacity()) return false;
  options_ = options;
  return true;
}

Duration ExponentialDetector::MaxInterval() const {
  return options_.max_interval > Duration::zero() ? options_.max_interval
                                                  : 2 * options_.heartbeat_interval;
}

void ExponentialDetector::Heartbeat(MonoTime now, std::uint64_t /*sequence*/) {
  if (!last_) {
    history_.Add(2 * options_.heartbeat_interval);  // Cassandra's seed sample
    last_ = now;
    return;
  }
  if (now < *last_) return;
  const Duration interval = ElapsedSaturated(*last_, now);
  if (interval <= MaxInterval()) history_.Add(interval);
  last_ = now;
}

void ExponentialDetector::Rebase(MonoTime now, std::uint64_t /*sequence*/) {
  if (!last_) {
    Heartbeat(now);
    return;
  }
  if (now >= *last_) last_ = now;
}

double ExponentialDetector::RawPhi(MonoTime now) const {
  if (!last_) return 0.0;
  // A zero mean (a burst of simultaneous arrivals) is floored at 1 us to keep phi finite.
  const double mean = std::max(history_.MeanMillis(), 1e-3);
  return std::max(0.0, MillisBetween(*last_, now)) / mean;
}

double ExponentialDetector::Level(MonoTime now) const { return RawPhi(now) / kLn10; }

std::optional<MonoTime> ExponentialDetector::CrossingTime(double level) const {
  if (!last_) return std::nullopt;
  if (!(level > 0)) return *last_;
  const double mean = std::max(history_.MeanMillis(), 1e-3);
  const double diff = level * kLn10 * mean;
  if (diff > 1e12) return kNever;
  return AddSaturated(*last_, CeilMillisToDuration(diff));
}

IntervalStats ExponentialDetector::Stats() const {
  return {history_.size(), history_.MeanMillis(), history_.StdDevMillis()};
}

}  // namespace vigil
