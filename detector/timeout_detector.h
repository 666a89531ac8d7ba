// The fixed-timeout detector: a peer is down once it has been silent for `timeout`.
#pragma once

#include <optional>

#include "detector/failure_detector.h"

namespace vigil {

struct TimeoutOptions {
  Duration timeout = std::chrono::seconds(1);
};

// What Linux-HA's `deadtime` and most home-grown systems do. Its level is the silence as a
// fraction of the timeout, so the threshold is 1 and a suspect level of 0.5 means "half the
// timeout". Keeps the interval mean (a running mean, no history) for display only.
class TimeoutDetector final : public FailureDetector {
 public:
  explicit TimeoutDetector(const TimeoutOptions& options);

  using FailureDetector::Heartbeat;
  using FailureDetector::Rebase;
  void Heartbeat(MonoTime now, std::uint64_t sequence) override;
  void Rebase(MonoTime now, std::uint64_t sequence) override;
  void Retune(const TimeoutOptions& options) { options_.timeout = std::max(options.timeout, Duration(1)); }
  double Level(MonoTime now) const override;
  std::optional<MonoTime> CrossingTime(double level) const override;
  double threshold() const override { return 1.0; }
  std::optional<MonoTime> last_heartbeat() const override { return last_; }
  IntervalStats Stats() const override;
  std::size_t HeapBytes() const override { return 0; }

 private:
  TimeoutOptions options_;
  std::optional<MonoTime> last_;
  // Welford's running mean/variance of intervals, for display.
  std::size_t samples_ = 0;
  double mean_ms_ = 0;
  double m2_ = 0;
};

}  // namespace vigil
