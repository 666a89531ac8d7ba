// Time types shared by the pure detection code.
//
// Detection runs on the monotonic clock only. The detector never reads a clock: every call
// that needs the time takes `now` from the caller, so tests drive time explicitly.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>

namespace vigil {

using Duration = std::chrono::nanoseconds;
// A point on the monotonic clock. Uses steady_clock's epoch so the daemon can pass
// steady_clock::now() straight in; tests build times as MonoTime{} + 1500ms.
using MonoTime = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// Milliseconds as a double, the unit the published detector formulas are written in.
inline double ToMillis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Rounds up so that a deadline computed from a real-valued crossing is never early.
inline Duration CeilMillisToDuration(double ms) {
  return Duration(static_cast<std::int64_t>(std::ceil(ms * 1e6)));
}

inline constexpr MonoTime kNever = MonoTime::max();

// to - from, saturated to the range of Duration (intervals from absurd inputs stay finite).
inline Duration ElapsedSaturated(MonoTime from, MonoTime to) {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(to.time_since_epoch().count(), from.time_since_epoch().count(), &out)) {
    return to > from ? Duration::max() : Duration::min();
  }
  return Duration(out);
}

// t + d, saturated at the ends of the clock (kNever for "too late to matter").
inline MonoTime AddSaturated(MonoTime t, Duration d) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(t.time_since_epoch().count(), d.count(), &out)) {
    return d > Duration::zero() ? MonoTime::max() : MonoTime::min();
  }
  return MonoTime(Duration(out));
}

// to - from in milliseconds, computed in floating point so that no pair of times, however
// far apart, can overflow.
inline double MillisBetween(MonoTime from, MonoTime to) {
  return ToMillis(to.time_since_epoch()) - ToMillis(from.time_since_epoch());
}

}  // namespace vigil
