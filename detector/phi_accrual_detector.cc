#include "detector/phi_accrual_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vigil {
namespace {

constexpr double kA = 0.070566;  // Akka's cubic coefficient
constexpr double kB = 1.5976;    // Akka's linear coefficient
constexpr double kLn10 = 2.302585092994046;

// log10(1 + e^z) without overflow or cancellation.
double Log10OnePlusExp(double z) {
  if (z > 0) return (z + std::log1p(std::exp(-z))) / kLn10;
  return std::log1p(std::exp(z)) / kLn10;
}

// The z with log10(1 + e^z) == phi, for phi > 0: z = ln(10^phi - 1).
double InverseLog10OnePlusExp(double phi) {
  const double x = phi * kLn10;
  if (x > 30) return x + std::log1p(-std::exp(-x));
  return std::log(std::expm1(x));
}

}  // namespace

double AkkaPhi(double time_diff_ms, double mean_ms, double stddev_ms) {
  const double y = (time_diff_ms - mean_ms) / stddev_ms;
  const double z = y * (kB + kA * y * y);
  if (std::isnan(z)) return 0.0;  // only from inf-inf style inputs; treat as "no evidence"
  return Log10OnePlusExp(z);
}

double AkkaPhiInverse(double phi, double mean_ms, double stddev_ms) {
  return mean_ms + AkkaStandardizedInverse(phi) * stddev_ms;
}

double AkkaStandardizedInverse(double phi) {
  if (!(phi > 0)) return -std::numeric_limits<double>::infinity();
  if (std::isinf(phi)) return std::numeric_limits<double>::infinity();
  const double z = InverseLog10OnePlusExp(phi);
  // Solve kA*y^3 + kB*y - z = 0. With p = kB/kA > 0 the cubic has one real root; the
  // hyperbolic form avoids the cancellation of Cardano's formula near z = 0.
  const double p = kB / kA;
  const double r = std::sqrt(p / 3.0);
  const double arg = (z / kA / 2.0) / (r * r * r);
  double y = 2.0 * r * std::sinh(std::asinh(arg) / 3.0);
  // One Newton step polishes the last bits.
  const double f = kA * y * y * y + kB * y - z;
  const double df = 3.0 * kA * y * y + kB;
  y -= f / df;
  return y;
}

PhiAccrualDetector::PhiAccrualDetector(const PhiAccrualOptions& options)
    : options_(options), history_(std::max<std::size_t>(options.max_sample_size, 2)) {}

void PhiAccrualDetector::SeedHistory() {
  // Akka: two samples est - est/4 and est + est/4 (mean est, deviation est/4).
  history_.Clear();
  const Duration est = options_.first_heartbeat_estimate;
  history_.Add(est - est / 4);
  history_.Add(est + est / 4);
}

bool PhiAccrualDetector::Retune(const PhiAccrualOptions& options) {
  if (std::max<std::size_t>(options.max_sample_size, 2) != history_.capacity()) return false;
  options_ = options;
  return true;
}

double PhiAccrualDetector::StandardizedCrossing(double level) const {
  if (level == cached_level_) return cached_y_;
  if (level == cached_level2_) return cached_y2_;
  cached_level2_ = cached_level_;
  cached_y2_ = cached_y_;
  cached_level_ = level;
  cached_y_ = AkkaStandardizedInverse(level);
  return cached_y_;
}

void PhiAccrualDetector::Heartbeat(MonoTime now, std::uint64_t /*sequence*/) {
  if (!last_) {
    SeedHistory();
    last_ = now;
    return;
  }
  if (now < *last_) return;
  // Akka learns the interval only if the peer was still judged available when it arrived,
  // i.e. phi < threshold, i.e. the silence is below the threshold's crossing point.
  const double diff = MillisBetween(*last_, now);
  const double limit = EffectiveMeanMillis() +
                       StandardizedCrossing(options_.threshold) * EffectiveStdDevMillis();
  if (diff < limit) history_.Add(ElapsedSaturated(*last_, now));
  last_ = now;
}

void PhiAccrualDetector::Rebase(MonoTime now, std::uint64_t /*sequence*/) {
  if (!last_) {
    Heartbeat(now);
    return;
  }
  if (now >= *last_) last_ = now;
}

double PhiAccrualDetector::EffectiveMeanMillis() const {
  return history_.MeanMillis() + ToMillis(options_.acceptable_heartbeat_pause);
}

double PhiAccrualDetector::EffectiveStdDevMillis() const {
  // The 1 us floor only guards a zero min_std_deviation against division by zero.
  return std::max({history_.StdDevMillis(), ToMillis(options_.min_std_deviation), 1e-3});
}

double PhiAccrualDetector::Level(MonoTime now) const {
  if (!last_) return 0.0;
  return AkkaPhi(MillisBetween(*last_, now), EffectiveMeanMillis(), EffectiveStdDevMillis());
}

std::optional<MonoTime> PhiAccrualDetector::CrossingTime(double level) const {
  if (!last_) return std::nullopt;
  const double y = StandardizedCrossing(level);
  const double diff = EffectiveMeanMillis() + y * EffectiveStdDevMillis();
  if (!(diff > 0)) return *last_;
  if (diff > 1e12) return kNever;  // beyond ~30 years: never in practice
  return AddSaturated(*last_, CeilMillisToDuration(diff));
}

IntervalStats PhiAccrualDetector::Stats() const {
  return {history_.size(), history_.MeanMillis(), history_.StdDevMillis()};
}

}  // namespace vigil
