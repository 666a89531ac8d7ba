// vigil's default detector: an adaptive timeout built from sequence numbers, expected
// arrival times and a decaying envelope of how late heartbeats have been. See
// docs/detectors.md for the design and the measurements behind it.
#pragma once

#include <cstdint>
#include <optional>

#include "detector/adaptive_params.h"
#include "detector/failure_detector.h"

namespace vigil {

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
// Networks change regime, and queueing delay is the early sign: a path that is filling its
// buffers delays heartbeats before it drops them. So E, E_late and the loss model are also
// kept per network condition: the queueing delay (arrival offset above its running minimum,
// as LEDBAT measures it, with clock drift taken out) in factor-4 steps of the interval.
// Each condition remembers in its own time, so what a noisy spell taught survives an hour of
// calm. The deadline uses the current condition's figures once it has evidence (and never
// less than a quieter condition's); otherwise the overall figures above.
//
// The level is silence / allowed silence, so the threshold is 1 and CrossingTime is exact.
// O(1) time per heartbeat, no heap memory: sizeof(AdaptiveDetector) bytes per peer, the
// settings shared with every detector that has the same (InternedAdaptiveParams).
// Copyable. Not thread-safe; one owner.
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
  std::optional<MonoTime> last_heartbeat() const override {
    if (!heard()) return std::nullopt;
    return last_;
  }
  IntervalStats Stats() const override;
  std::size_t HeapBytes() const override { return 0; }

  // The silence after the last heartbeat at which the level reaches 1, in milliseconds.
  double allowed_silence_ms() const { return allowed_ms_; }
  // Heartbeats in a row the current deadline tolerates losing.
  int loss_allowance() const { return loss_allowance_; }

 private:
  // What the detector learned from the silences before arrivals: the envelopes, and decayed
  // counts for the loss model (slots, i.e. heartbeats sent; losses; and losses that followed
  // a loss). Kept overall (doubles) and per network condition (floats: there are
  // kConditions of them per peer).
  template <typename T>
  struct Figures {
    T excess_envelope_ms = 0;    // E: excess silence, lost heartbeats included
    T lateness_envelope_ms = 0;  // E_late: lateness alone
    T slots = 0;
    T losses = 0;
    T continued = 0;

    // Learns one silence: `steps` slots of which `lost` lost, `late_ms` late.
    // `keep` and `decay` age the counts and the envelopes.
    void Learn(double steps, double lost, double late_ms, double interval_ms, double keep,
               double decay);
  };
  static constexpr int kConditions = 5;

  void Recompute();
  int ConditionOf(double queueing_ms) const;
  // Heartbeat's steps, in this order. LearnSilence learns the silence that just ended
  // (`lost` heartbeats lost, the arrival `late_ms` late, `gap_ms` after the last one) into
  // the loss counts, the envelopes (overall and of condition_) and the lateness mean and
  // deviation, with running-average weight `a`; it reads predicted_ms_, allowed_ms_ and
  // loss_allowance_ as they were before this arrival.
  void LearnSilence(double lost, double late_ms, double gap_ms, double a);
  // Sets the arrival offsets for the arrival of `sequence` at `now` and predicted_ms_ for the
  // next one; returns offset_last_ms_ as it was before.
  double UpdateOffsets(MonoTime now, std::uint64_t sequence, double a);
  // Updates the drift, base offset and queueing delay from the offset change since
  // `previous_offset_ms` over `steps` slots and `gap_ms`, and sets condition_. Call after
  // UpdateOffsets.
  void UpdateQueueing(double previous_offset_ms, std::uint64_t steps, double gap_ms);
  // Allowed silence beyond the expected arrival from one set of figures; sets `allowance`.
  template <typename T>
  double AllowedFrom(const Figures<T>& figures, int& allowance) const;

  const AdaptiveOptions& options() const { return params_->options; }
  double interval_ms() const { return params_->interval_ms; }
  double alpha() const { return params_->alpha; }

  bool heard() const { return last_ != MonoTime::min(); }

  const AdaptiveParams* params_;  // interned: shared, never freed

  MonoTime last_ = MonoTime::min();  // the last heartbeat; min(): none yet
  std::uint64_t last_sequence_ = 0;  // 0: unknown (the next heartbeat only anchors)
  MonoTime run_start_{};
  std::uint64_t run_start_sequence_ = 0;

  // Arrival offsets: (arrival − run start) − (sequence − run start sequence)·Δ.
  double offset_last_ms_ = 0;
  double offset_mean_ms_ = 0;
  double predicted_ms_ = 0;  // silence until heartbeat s+1 is expected

  // Lateness of the next arrival beyond its expected time (losses taken out).
  Figures<double> overall_;
  double late_mean_ms_ = 0;
  double late_dev_ms_ = 0;

  // Loss counts over about the last 100 heartbeats, without a prior: the onset of heavy loss
  // shows here within seconds, long before the long counts move.
  double recent_slots_ = 0;
  double recent_losses_ = 0;

  // Queueing delay: arrival offsets above their running minimum (which may creep up by
  // clock drift), smoothed quick to rise and slow to fall.
  double drift_sum_ms_ = 0;  // decayed sum of offset changes
  double drift_slots_ = 0;   // decayed count of the slots they span
  double base_offset_ms_ = 0;
  double queueing_ms_ = 0;
  // Heartbeats learned, saturating at 2^32 − 1 (49 days at a 1 ms interval). It weights the
  // averages while below 1/alpha and the drift while below 3,600,000 / interval_ms, at most
  // 3.6e9 (the interval is at least 1 µs): saturation never changes a weight.
  std::uint32_t samples_ = 0;
  int condition_ = 0;
  Figures<float> conditions_[kConditions];
  int loss_allowance_ = 0;

  double allowed_ms_ = 0;

  // Display statistics: mean and deviation of the gaps between arrivals.
  double gap_mean_ms_ = 0;
  double gap_var_ = 0;
};

}  // namespace vigil
