#include "daemon/receive_overflow.h"

namespace vigil {

ReceiveOverflow::Change ReceiveOverflow::Observe(MonoTime now, std::uint64_t drops) {
  // The kernel's count is 32 bits: a smaller one wrapped (after 4 billion drops).
  const std::uint64_t rose = drops >= last_count_ ? drops - last_count_
                                                  : drops + (std::uint64_t{1} << 32) - last_count_;
  last_count_ = drops;
  if (rose == 0) {
    if (in_episode_ && now >= quiet_at()) {
      in_episode_ = false;
      return Change::kEnded;
    }
    return Change::kNone;
  }
  Change change = Change::kNone;
  // Drops after a quiet listen window are a new episode even if no call ended the last one.
  if (!in_episode_ || now >= quiet_at()) {
    in_episode_ = true;
    capped_ = false;
    episode_start_ = now;
    episode_drops_ = 0;
    ++episodes_;
    change = Change::kStarted;
  }
  last_drop_at_ = now;
  episode_drops_ += rose;
  if (!capped_ && now - episode_start_ >= options_.max_hold) {
    capped_ = true;
    ++capped_episodes_;
    change = Change::kCapped;
  }
  return change;
}

}  // namespace vigil
