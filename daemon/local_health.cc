#include "daemon/local_health.h"

#include <algorithm>

namespace vigil {

bool LocalHealth::Observe(MonoTime now, Duration boot_offset) {
  if (!started_) {
    started_ = true;
    last_seen_ = now;
    last_boot_offset_ = boot_offset;
    return false;
  }
  // A suspend stops the monotonic clock but not the boot-time clock: the time the machine
  // slept shows up as growth of their difference.
  const Duration slept = boot_offset - last_boot_offset_;
  const Duration ran_late = now > last_seen_ ? now - last_seen_ : Duration::zero();
  last_boot_offset_ = boot_offset;
  last_seen_ = std::max(last_seen_, now);
  StallCause cause = StallCause::kNone;
  Duration gap{};
  if (slept >= options_.stall_threshold) {
    cause = StallCause::kSuspend;
    gap = slept + ran_late;
  } else if (ran_late >= options_.stall_threshold) {
    cause = StallCause::kLoopStall;
    gap = ran_late;
  }
  if (cause == StallCause::kNone) return false;
  const bool new_episode = !Degraded(now);
  hold_until_ = std::max(hold_until_, now + options_.listen_window);
  total_gap_ += gap;
  last_gap_ = gap;
  cause_ = cause;
  if (new_episode) ++episodes_;
  return new_episode;
}

LocalHealthOptions LocalHealthOptionsFor(Duration heartbeat_interval) {
  LocalHealthOptions o;
  o.listen_window = std::max<Duration>(std::chrono::seconds(1), 3 * heartbeat_interval);
  return o;
}

std::string_view StallCauseName(StallCause cause) {
  switch (cause) {
    case StallCause::kNone:
      return "none";
    case StallCause::kLoopStall:
      return "stall";
    case StallCause::kSuspend:
      return "suspend";
  }
  return "none";
}

}  // namespace vigil
