// Even pacing for vigil-loadgen: datagram (or command) k leaves at start + k / rate.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

namespace vigil {

using Clock = std::chrono::steady_clock;

// What a feed did: datagrams (or commands) sent, refused by the kernel (or unanswered),
// and skipped because their sender was silenced.
struct Totals {
  std::uint64_t sent = 0;
  std::uint64_t errors = 0;
  std::uint64_t silenced = 0;
};

// When item k of a feed evenly paced at `rate` per second leaves.
inline Clock::time_point PacedDue(Clock::time_point start, std::uint64_t k, double rate) {
  return start + std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(static_cast<double>(k) / rate));
}

// Waits until `due`: sleeps while it is far, spins for the last 100 µs (a sleep is only
// precise to tens of microseconds, even with a 1 ns timer slack).
inline void WaitUntil(Clock::time_point due) {
  constexpr auto kSpin = std::chrono::microseconds(100);
  const auto now = Clock::now();
  if (due - now > kSpin) std::this_thread::sleep_until(due - kSpin);
  while (Clock::now() < due) {
  }
}

// Calls send(k, seconds since the start) for k = 0, 1, ..., each at start + k / rate, until
// `seconds` have passed or `count` calls were made (0: no limit).
template <typename Send>
void Paced(double rate, double seconds, std::uint64_t count, Send send) {
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  for (std::uint64_t k = 0; count == 0 || k < count; ++k) {
    const auto due = PacedDue(start, k, rate);
    if (due >= end) break;
    WaitUntil(due);
    send(k, std::chrono::duration<double>(due - start).count());
  }
}

}  // namespace vigil
