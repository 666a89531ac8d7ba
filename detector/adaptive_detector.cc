#include "detector/adaptive_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vigil {

namespace {

// Prior for the loss model, worth 50 heartbeats: 1 % loss, a loss followed by another a
// quarter of the time. A fresh detector therefore tolerates a short burst, and the evidence
// of a few minutes (thousands of heartbeats at 100 ms, hundreds at 1 s) outweighs it.
constexpr double kPriorSlots = 50.0;
constexpr double kPriorLosses = 0.5;
constexpr double kPriorContinued = 0.125;
// Jacobson's rule for the lateness spread (TCP's RTO = srtt + 4·rttvar).
constexpr double kDeviations = 4.0;
// Lateness allowance never below this fraction of the interval: timers and schedulers
// jitter even where the network does not.
constexpr double kFloorFraction = 0.1;
// A heartbeat this much earlier than its sequence number implies means the sender's
// numbering jumped, not that the network got faster: start the offsets afresh.
constexpr double kJumpIntervals = 2.0;
// Weight of each heartbeat in the recent loss rate: about the last 100 heartbeats.
constexpr double kRecentWeight = 0.01;
// Weight of each heartbeat in the smoothed queueing delay: about the last four.
constexpr double kQueueWeight = 0.25;
// Clocks drift apart and senders' timers run slow, so the minimum offset creeps; it may
// rise by the measured drift (the long average of offset changes per heartbeat, in which
// delay changes cancel out) plus this much per millisecond. If the drift is
// underestimated, queueing delay reads high, which only makes the detector more patient.
constexpr double kDriftSlackPerMs = 1e-5;
// Span of the drift average. Long: a shift in delay is a step in the offsets, and over
// this span it reads as a slope of only (step / span).
constexpr double kDriftSpanMs = 3'600'000;
// Condition 0 is queueing below interval/64; each next one is 4x higher.
constexpr double kQuietFraction = 1.0 / 64;
// Heartbeats a condition must have seen before its own figures are trusted.
constexpr double kConditionEvidence = 300;

// The smallest L with p·q^L <= budget: how many losses in a row to tolerate.
int LossAllowance(double p, double q, double budget, double cap) {
  if (!(p > budget)) return 0;
  const double l = std::ceil(std::log(budget / p) / std::log(q));
  return static_cast<int>(std::clamp(l, 0.0, cap));
}

}  // namespace

AdaptiveDetector::AdaptiveDetector(const AdaptiveOptions& options) { Retune(options); }

void AdaptiveDetector::Retune(const AdaptiveOptions& options) {
  params_ = &InternedAdaptiveParams(options);
  if (heard()) Recompute();
}

void AdaptiveDetector::Rebase(MonoTime now, std::uint64_t sequence) {
  if (heard() && now < last_) return;
  last_ = now;
  run_start_ = now;
  run_start_sequence_ = sequence;
  last_sequence_ = sequence;
  offset_last_ms_ = 0;
  offset_mean_ms_ = 0;
  predicted_ms_ = interval_ms();
  base_offset_ms_ = 0;
  Recompute();
}

int AdaptiveDetector::ConditionOf(double queueing_ms) const {
  double bound = kQuietFraction * interval_ms();
  int c = 0;
  while (c + 1 < kConditions && queueing_ms >= bound) {
    ++c;
    bound *= 4;
  }
  return c;
}

void AdaptiveDetector::Heartbeat(MonoTime now, std::uint64_t sequence) {
  if (!heard()) {
    Rebase(now, sequence);
    return;
  }
  if (now < last_) return;
  // Without sequence numbers every heartbeat counts as the next one.
  if (sequence == 0) sequence = last_sequence_ + 1;
  if (last_sequence_ == 0 || sequence <= last_sequence_) {
    Rebase(now, sequence);
    return;
  }
  const std::uint64_t steps = sequence - last_sequence_;
  const double gap_ms = MillisBetween(last_, now);
  const double lost = static_cast<double>(std::min<std::uint64_t>(steps - 1, 1'000'000));
  // How late this heartbeat is against the time predicted for it at the last one.
  const double late_ms = gap_ms - predicted_ms_ - lost * interval_ms();
  if (late_ms < -kJumpIntervals * interval_ms() - options().margin * overall_.excess_envelope_ms) {
    Rebase(now, sequence);
    return;
  }
  if (samples_ < std::numeric_limits<std::uint32_t>::max()) ++samples_;
  // Running averages: Chen's window of 1000 heartbeats, or `memory` if shorter.
  const double a = std::max({alpha(), 1e-3, 1.0 / (static_cast<double>(samples_) + 1.0)});

  LearnSilence(lost, late_ms, gap_ms, a);
  const double previous_offset_ms = UpdateOffsets(now, sequence, a);
  UpdateQueueing(previous_offset_ms, steps, gap_ms);

  const double gap_delta = gap_ms - gap_mean_ms_;
  gap_mean_ms_ += a * gap_delta;
  gap_var_ = (1.0 - a) * (gap_var_ + a * gap_delta * gap_delta);

  last_ = now;
  last_sequence_ = sequence;
  Recompute();
}

// Learns the loss counts, envelopes and lateness statistics from the silence that just ended.
void AdaptiveDetector::LearnSilence(double lost, double late_ms, double gap_ms, double a) {
  // A run of losses longer than the detector tolerated was an outage as far as it could
  // tell (it suspected the peer), and outages are what it exists to report, so it does not
  // learn them: otherwise a single 2 s partition would teach it that 20 losses in a row are
  // normal, and the next partition would go unreported for as long. The loss model learns
  // from the runs it tolerated (near misses included) and extrapolates its tail from them;
  // if runs really grow longer, its estimate of their continuation grows with them.
  const bool outage = lost > static_cast<double>(loss_allowance_);
  const double learned_lost = outage ? 0.0 : lost;
  const double learned_steps = outage ? 1.0 : lost + 1.0;

  // The loss counts age per slot; the recent loss rate is over about 100 heartbeats.
  const double keep = learned_steps == 1 ? 1.0 - alpha() : std::pow(1.0 - alpha(), learned_steps);
  const double recent_keep = std::pow(1.0 - kRecentWeight, learned_steps);
  recent_slots_ = recent_slots_ * recent_keep + learned_steps;
  recent_losses_ = recent_losses_ * recent_keep + learned_lost;

  // The loss counts, and the envelope of the whole excess silence (lost heartbeats included:
  // a burst of losses or a sender stall is one long silence), halving every `memory`; and
  // Jacobson's mean and deviation of the lateness alone.
  // A heartbeat later than the detector allowed is learned as at most four times as late as
  // it allowed (or four intervals): a sender that stalls again and again teaches the
  // detector its stalls within a few of them, but one 10 s freeze does not make it 10 s
  // slower for the next hour.
  const double allowed_late =
      allowed_ms_ - predicted_ms_ - static_cast<double>(loss_allowance_) * interval_ms();
  const double learned_late = std::min(late_ms, 4.0 * std::max(allowed_late, interval_ms()));
  const double decay = std::exp2(-gap_ms / ToMillis(options().memory));
  overall_.Learn(learned_steps, learned_lost, learned_late, interval_ms(), keep, decay);
  // ...and under the condition that held when this silence began.
  conditions_[condition_].Learn(learned_steps, learned_lost, learned_late, interval_ms(), keep,
                                decay);
  late_dev_ms_ += a * (std::abs(learned_late - late_mean_ms_) - late_dev_ms_);
  late_mean_ms_ += a * (learned_late - late_mean_ms_);
}

// Moves the arrival offsets to this arrival and predicts the next one; returns the old offset.
double AdaptiveDetector::UpdateOffsets(MonoTime now, std::uint64_t sequence, double a) {
  // Expected arrival of the next heartbeat: the later of the long average offset and the
  // last offset (two windows: slow to forget, quick to follow a shift to longer delays).
  const double previous_offset_ms = offset_last_ms_;
  offset_last_ms_ = MillisBetween(run_start_, now) -
                    static_cast<double>(sequence - run_start_sequence_) * interval_ms();
  offset_mean_ms_ += a * (offset_last_ms_ - offset_mean_ms_);
  predicted_ms_ = interval_ms() + std::max(0.0, offset_mean_ms_ - offset_last_ms_);
  return previous_offset_ms;
}

// Tracks clock drift and queueing delay after an arrival, and picks the network condition.
void AdaptiveDetector::UpdateQueueing(double previous_offset_ms, std::uint64_t steps,
                                      double gap_ms) {
  // Drift per heartbeat slot: the decayed sum of offset changes over the decayed count of
  // slots (a ratio of sums, so late heartbeats and the early ones after them cancel).
  const double steps_d = static_cast<double>(steps);
  const double w =
      std::max(interval_ms() / kDriftSpanMs, 1.0 / (static_cast<double>(samples_) + 1.0));
  drift_sum_ms_ = (1.0 - w) * drift_sum_ms_ + (offset_last_ms_ - previous_offset_ms);
  drift_slots_ = (1.0 - w) * drift_slots_ + steps_d;
  const double drift = drift_sum_ms_ / drift_slots_;
  base_offset_ms_ = std::min(
      base_offset_ms_ + std::max(0.0, drift) * steps_d + kDriftSlackPerMs * gap_ms,
      offset_last_ms_);
  const double queueing = offset_last_ms_ - base_offset_ms_;
  queueing_ms_ += kQueueWeight * (queueing - queueing_ms_);
  condition_ = ConditionOf(queueing_ms_);
}

template <typename T>
void AdaptiveDetector::Figures<T>::Learn(double steps, double lost, double late_ms,
                                         double interval_ms, double keep, double decay) {
  slots = static_cast<T>(slots * keep + steps);
  losses = static_cast<T>(losses * keep + lost);
  continued = static_cast<T>(continued * keep + std::max(0.0, lost - 1.0));
  excess_envelope_ms =
      static_cast<T>(std::max(excess_envelope_ms * decay, late_ms + lost * interval_ms));
  lateness_envelope_ms = static_cast<T>(std::max(lateness_envelope_ms * decay, late_ms));
}

template <typename T>
double AdaptiveDetector::AllowedFrom(const Figures<T>& f, int& allowance) const {
  // How many heartbeats in a row may be lost: the smallest L with
  // P(a run of more than L losses) = p·q^L at most the per-heartbeat mistake budget.
  const double p = (f.losses + kPriorLosses) / (f.slots + kPriorSlots);
  // A loss is taken to be at least as likely right after a loss as anywhere (losses are
  // independent or come in bursts; they do not avoid each other). Without this floor a
  // handful of isolated losses at the onset of heavy loss would look like proof that losses
  // never come in pairs.
  const double q = std::max(p, (f.continued + kPriorContinued) / (f.losses + kPriorLosses));
  const double budget = options().target_mistakes_per_hour * interval_ms() / 3'600'000.0;
  const double cap = 3'600'000.0 / interval_ms();  // never more than an hour of losses
  allowance = LossAllowance(p, q, budget, cap);
  // Heavy loss that just began: several recent losses at well above the long-run rate. The
  // long counts cannot yet say whether they come in bursts, so assume the prior's burstiness
  // until they can.
  const double recent = recent_slots_ > 0 ? recent_losses_ / recent_slots_ : 0.0;
  if (recent_losses_ > 1.5 && recent > p) {
    const double q_recent = std::min(0.999, std::max({q, recent, kPriorContinued / kPriorLosses}));
    allowance = std::max(allowance, LossAllowance(recent, q_recent, budget, cap));
  }
  const double modelled = static_cast<double>(allowance) * interval_ms() +
                          std::max(late_mean_ms_ + kDeviations * late_dev_ms_,
                                   kFloorFraction * interval_ms());
  // Lost heartbeats come in whole intervals, so the margin stretches only the lateness:
  // a run of 5 losses seen calls for patience for 5 more, not for 6.25.
  const double envelope =
      f.excess_envelope_ms + (options().margin - 1.0) * std::max<double>(0.0, f.lateness_envelope_ms);
  return std::max(envelope, modelled);
}

void AdaptiveDetector::Recompute() {
  int allowance = 0;
  double allowed = 0;
  if (options().per_condition && conditions_[condition_].slots >= kConditionEvidence) {
    // The current condition has its own evidence: hold it to the budget on its own figures,
    // and never to less patience than a quieter condition with evidence (more queueing
    // never calls for less patience).
    for (int c = 0; c <= condition_; ++c) {
      if (conditions_[c].slots < kConditionEvidence) continue;
      int l = 0;
      allowed = std::max(allowed, AllowedFrom(conditions_[c], l));
      allowance = std::max(allowance, l);
    }
  } else {
    allowed = AllowedFrom(overall_, allowance);
  }
  loss_allowance_ = allowance;
  allowed_ms_ = predicted_ms_ + allowed;
}

double AdaptiveDetector::Level(MonoTime now) const {
  if (!heard()) return 0.0;
  return std::max(0.0, MillisBetween(last_, now)) / allowed_ms_;
}

std::optional<MonoTime> AdaptiveDetector::CrossingTime(double level) const {
  if (!heard()) return std::nullopt;
  if (!(level > 0)) return last_;
  const double diff = level * allowed_ms_;
  if (diff > 1e12) return kNever;
  return AddSaturated(last_, CeilMillisToDuration(diff));
}

IntervalStats AdaptiveDetector::Stats() const {
  return {static_cast<std::size_t>(samples_), gap_mean_ms_, std::sqrt(std::max(0.0, gap_var_))};
}

}  // namespace vigil
