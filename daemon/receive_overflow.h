// The receive-overflow guard of a cluster member (docs/membership.md, "Abstaining"): notices
// when the kernel drops datagrams addressed to vigild because its receive buffer is full.
// Heartbeats are among them, so a member that convicted on silence then would report
// members it merely did not hear: it abstains instead, like after a stall of its loop.
#pragma once

#include <cstdint>

#include "base/time.h"

namespace vigil {

struct ReceiveOverflowOptions {
  // Listen this long without a drop before reporting again: every live member has been
  // heard since (the local-health guard's listen window, max(1 s, 3 intervals)).
  Duration listen_window = std::chrono::seconds(3);
  // Drops that go on this long without a pause stop holding reports: a flood aimed at the
  // socket (junk datagrams fill the same buffer) must not silence an observer for good.
  Duration max_hold = std::chrono::seconds(30);
};

// Pure logic, fed the socket's cumulative drop count (SO_MEMINFO's drops) and the monotonic
// time. An episode starts with the first drop seen and ends once listen_window has passed
// without one. Not thread-safe.
class ReceiveOverflow {
 public:
  enum class Change : std::uint8_t { kNone, kStarted, kCapped, kEnded };

  explicit ReceiveOverflow(ReceiveOverflowOptions options) : options_(options) {}

  // `drops` is the socket's count now (the kernel's, 32 bits, from 0 when this run opened
  // it). Returns what this call changed.
  Change Observe(MonoTime now, std::uint64_t drops);

  // True if drops were seen less than listen_window ago (an episode is going on).
  bool Overflowing(MonoTime now) const { return in_episode_ && now < quiet_at(); }
  // True while reports must wait: overflowing, and for less than max_hold.
  bool Holding(MonoTime now) const { return Overflowing(now) && !capped_; }
  // Reports are held until then while Holding.
  MonoTime hold_until() const { return quiet_at(); }

  Duration listen_window() const { return options_.listen_window; }
  std::uint64_t episodes() const { return episodes_; }
  std::uint64_t capped_episodes() const { return capped_episodes_; }
  // Datagrams dropped in the current (or last) episode, and how long it lasted so far.
  std::uint64_t episode_drops() const { return episode_drops_; }
  Duration episode_length() const { return last_drop_at_ - episode_start_; }

 private:
  MonoTime quiet_at() const { return last_drop_at_ + options_.listen_window; }

  ReceiveOverflowOptions options_;
  std::uint64_t last_count_ = 0;
  bool in_episode_ = false;
  bool capped_ = false;
  MonoTime episode_start_{};
  MonoTime last_drop_at_{};
  std::uint64_t episode_drops_ = 0;
  std::uint64_t episodes_ = 0;
  std::uint64_t capped_episodes_ = 0;
};

}  // namespace vigil
