// The phi accrual failure detector (Hayashibara et al. 2004) exactly as Akka computes it.
#pragma once

#include <optional>

#include "detector/failure_detector.h"
#include "detector/interval_history.h"

namespace vigil {

struct PhiAccrualOptions {
  double threshold = 8.0;
  std::size_t max_sample_size = 1000;
  Duration min_std_deviation = std::chrono::milliseconds(100);
  Duration acceptable_heartbeat_pause = Duration::zero();
  Duration first_heartbeat_estimate = std::chrono::seconds(1);
};

// Phi for a silence of `time_diff_ms` when intervals are normal with the given mean and
// standard deviation, using Akka's logistic approximation of the normal CDF:
//   y = (t - mean) / sd,  z = y * (1.5976 + 0.070566 y^2),  phi = log10(1 + e^z).
// Akka writes this as -log10(e/(1+e)) with e = exp(-z) in two branches; this form is the same
// function evaluated without overflow: it is 0 (not NaN) when e^z underflows and finite (not
// +inf) far in the tail, so it stays strictly increasing and exactly invertible.
// Requires sd > 0.
double AkkaPhi(double time_diff_ms, double mean_ms, double stddev_ms);

// The inverse of AkkaPhi in its first argument: the silence at which phi reaches `phi`
// (solves the monotonic cubic in closed form). Returns -infinity for phi <= 0.
double AkkaPhiInverse(double phi, double mean_ms, double stddev_ms);

// The standardized deviation y = (t - mean) / sd at which phi reaches `phi`; it depends on
// phi alone, which is what lets detectors cache it. -infinity for phi <= 0.
double AkkaStandardizedInverse(double phi);

// Akka's detector: history seeded from the first-heartbeat estimate, mean widened by the
// acceptable heartbeat pause, deviation floored at min_std_deviation, and the first interval
// after the peer was judged unavailable not learned.
class PhiAccrualDetector final : public FailureDetector {
 public:
  explicit PhiAccrualDetector(const PhiAccrualOptions& options);

  using FailureDetector::Heartbeat;
  using FailureDetector::Rebase;
  void Heartbeat(MonoTime now, std::uint64_t sequence) override;
  void Rebase(MonoTime now, std::uint64_t sequence) override;
  double Level(MonoTime now) const override;
  std::optional<MonoTime> CrossingTime(double level) const override;
  double threshold() const override { return options_.threshold; }
  std::optional<MonoTime> last_heartbeat() const override { return last_; }
  IntervalStats Stats() const override;
  std::size_t HeapBytes() const override { return history_.HeapBytes(); }

  // The mean and deviation the formula uses (after pause and floor), in ms.
  // Applies new options keeping the learned history. Requires the same max_sample_size
  // (returns false otherwise, changing nothing).
  bool Retune(const PhiAccrualOptions& options);

  double EffectiveMeanMillis() const;
  double EffectiveStdDevMillis() const;
  const IntervalHistory& history() const { return history_; }

 private:
  void SeedHistory();
  // y* for `level`, cached: thresholds repeat, so the transcendental work is done once.
  double StandardizedCrossing(double level) const;

  PhiAccrualOptions options_;
  IntervalHistory history_;
  std::optional<MonoTime> last_;
  mutable double cached_level_ = -1;
  mutable double cached_y_ = 0;
  mutable double cached_level2_ = -1;  // a second slot: suspect and down levels alternate
  mutable double cached_y2_ = 0;
};

}  // namespace vigil
