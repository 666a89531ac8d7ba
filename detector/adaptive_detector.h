// vigil's default detector: an adaptive timeout built from sequence numbers, expected
// arrival times and a decaying envelope of how late heartbeats have been. See
// docs/detectors.md for the design and the measurements behind it.
#pragma once

#include <cstdint>
#include <optional>

#include "detector/failure_detector.h"

namespace vigil {

struct AdaptiveOptions {
  // The interval the peer sends at.
  Duration heartbeat_interval = std::chrono::seconds(1);
  // How long the detector remembers: the half-life of its estimates (expected arrival,
  // lateness envelope, loss statistics). Longer is steadier; shorter adapts faster.
  Duration memory = std::chrono::minutes(60);
  // Multiplies the lateness envelope: how far beyond the latest lateness it remembers a
  // heartbeat may still arrive without suspicion. >= 1.
  double margin = 1.5;
  // Mistakes per hour the loss allowance aims for (it picks how many heartbeats in a row may
  // be lost). > 0.
  double target_mistakes_per_hour = 0.25;
};

// The deadline after heartbeat j (sequence s) is
//
//   EA(s+1) + max(E + (margin − 1)·E_late,  L·Δ + max(μ + 4·dev, Δ/10))
//
// EA(s+1): when heartbeat s+1 is expected — Chen, Toueg & Aguilera's estimator over
//   sequence-normalized arrival offsets, taking the later of the long average and the last
//   arrival (Tomsic et al.'s two windows), so a shift to longer delays is followed at once.
// E: a decaying envelope (half-life `memory`) of the excess silence seen, lost heartbeats
//   and sender stalls included; E_late the same for lateness alone, which `margin` stretches
//   (a run of k lost heartbeats calls for patience for k, a 2 s stall for 3 s).
// L: heartbeats in a row that may be lost, from a Gilbert–Elliott estimate of the loss and
//   loss-continuation probabilities, so bursty loss is seen as bursty; μ, dev: Jacobson's
//   mean and deviation of lateness.
//
// It does not learn what it reported: a run of losses longer than tolerated (an outage) is
// not learned, and a heartbeat later than allowed is learned as at most 4x as late.
//
// The level is silence / allowed silence, so the threshold is 1 and CrossingTime is exact.
// O(1) time per heartbeat, no heap memory (sizeof(AdaptiveDetector) bytes per peer).
// Not thread-safe; one owner.
class AdaptiveDetector final : public FailureDetector {
 public:
  explicit AdaptiveDetector(const AdaptiveOptions& options);

  using FailureDetector::Heartbeat;
  using FailureDetector::Rebase;
  void Heartbeat(MonoTime now, std::uint64_t sequence) override;
  void Rebase(MonoTime now, std::uint64_t sequence) override;
  // Applies new options, keeping everything learned.
  void Retune(const AdaptiveOptions& options);
  double Level(MonoTime now) const override;
  std::optional<MonoTime> CrossingTime(double level) const override;
  double threshold() const override { return 1.0; }
  std::optional<MonoTime> last_heartbeat() const override { return last_; }
  IntervalStats Stats() const override;
  std::size_t HeapBytes() const override { return 0; }

  // The silence after the last heartbeat at which the level reaches 1, in milliseconds.
  double allowed_silence_ms() const { return allowed_ms_; }
  // Heartbeats in a row the current deadline tolerates losing.
  int loss_allowance() const { return loss_allowance_; }

 private:
  void Recompute();

  AdaptiveOptions options_;
  double interval_ms_;
  double alpha_;  // per-heartbeat weight of the running averages, from `memory`

  std::optional<MonoTime> last_;
  std::uint64_t last_sequence_ = 0;  // 0: unknown (the next heartbeat only anchors)
  MonoTime run_start_{};
  std::uint64_t run_start_sequence_ = 0;

  // Arrival offsets: (arrival − run start) − (sequence − run start sequence)·Δ.
  double offset_last_ms_ = 0;
  double offset_mean_ms_ = 0;
  double predicted_ms_ = 0;  // silence until heartbeat s+1 is expected

  // Lateness of the next arrival beyond its expected time (losses taken out).
  double late_envelope_ms_ = 0;     // excess silence, lost heartbeats included
  double lateness_envelope_ms_ = 0;  // lateness alone
  double late_mean_ms_ = 0;
  double late_dev_ms_ = 0;
  std::uint64_t samples_ = 0;

  // Decayed counts for the loss model: slots (heartbeats sent), losses, and losses that
  // followed a loss.
  double slots_ = 0;
  double losses_ = 0;
  double continued_ = 0;
  // The same over about the last 100 heartbeats, without a prior: the onset of heavy loss
  // shows here within seconds, long before the long counts move.
  double recent_slots_ = 0;
  double recent_losses_ = 0;
  int loss_allowance_ = 0;

  double allowed_ms_ = 0;

  // Display statistics: mean and deviation of the gaps between arrivals.
  double gap_mean_ms_ = 0;
  double gap_var_ = 0;
};

}  // namespace vigil
