// Phi under an exponential model of inter-arrival times, as Cassandra's gossip computes it.
#pragma once

#include <optional>

#include "detector/failure_detector.h"
#include "detector/interval_history.h"

namespace vigil {

struct ExponentialOptions {
  // Convict when (now - last) / mean / ln(10) reaches this (Cassandra's phi_convict_threshold).
  double threshold = 8.0;
  std::size_t window_size = 1000;
  // The sender's heartbeat interval: the window is seeded with one sample of twice this.
  Duration heartbeat_interval = std::chrono::seconds(1);
  // Intervals longer than this are not learned. Zero means 2 * heartbeat_interval
  // (Cassandra's default).
  Duration max_interval = Duration::zero();
};

// Cassandra's ArrivalWindow: P(no heartbeat for t) = exp(-t / mean), so
// phi = -log10(exp(-t/mean)) = t / (mean * ln 10). RawPhi() is Cassandra's unscaled t/mean.
class ExponentialDetector final : public FailureDetector {
 public:
  explicit ExponentialDetector(const ExponentialOptions& options);

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

  // Applies new options keeping the learned window. Requires the same window_size.
  bool Retune(const ExponentialOptions& options);

  // (now - last) / mean, 0 before the first heartbeat.
  double RawPhi(MonoTime now) const;

 private:
  Duration MaxInterval() const;

  ExponentialOptions options_;
  IntervalHistory history_;
  std::optional<MonoTime> last_;
};

}  // namespace vigil
