#include "daemon/send_schedule.h"

#include <algorithm>

namespace vigil {

RoundPlan PlanRound(std::size_t targets, Duration interval) {
  RoundPlan plan;
  plan.slices = (targets + kSendSliceSize - 1) / kSendSliceSize;
  if (plan.slices > 1) {
    const auto spread = std::chrono::duration_cast<Duration>(interval * kSendSpreadFraction);
    plan.spacing = spread / static_cast<std::int64_t>(plan.slices);
  }
  return plan;
}

SliceRange SliceOf(std::size_t slice, std::size_t targets) {
  SliceRange r;
  r.begin = std::min(targets, slice * kSendSliceSize);
  r.end = std::min(targets, r.begin + kSendSliceSize);
  return r;
}

SendLoad::Change SendLoad::OnRoundDone(MonoTime due, MonoTime finished, Duration interval,
                                       std::size_t datagrams) {
  ++rounds_;
  last_round_ = finished > due ? finished - due : Duration::zero();
  last_round_datagrams_ = datagrams;
  if (finished > AddSaturated(due, interval)) {
    ++late_rounds_;
    late_until_ = AddSaturated(finished, hold_);
    if (!overloaded_) {
      overloaded_ = true;
      ++episodes_;
      return Change::kBecameOverloaded;
    }
    return Change::kNone;
  }
  if (overloaded_ && finished >= late_until_) {
    overloaded_ = false;
    return Change::kRecovered;
  }
  return Change::kNone;
}

NextRound NextRoundAfter(MonoTime slot, Duration interval, MonoTime now, double jitter) {
  slot += interval;
  if (slot + interval < now) slot = now;
  return {slot, slot + std::chrono::duration_cast<Duration>(interval * jitter)};
}

}  // namespace vigil
