// The clocks the daemon reads, injected so tests control time (LevelDB's Env, Envoy's
// TimeSource): monotonic time for every interval and verdict, wall time only for display.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

#include "base/time.h"

namespace vigil {

using WallTime = std::chrono::system_clock::time_point;

// Both clocks read at one moment.
struct Timestamp {
  MonoTime mono;
  WallTime wall;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
  // CLOCK_BOOTTIME minus CLOCK_MONOTONIC: grows only while the machine is suspended.
  virtual Duration BootOffset() const = 0;
};

class RealClock final : public Clock {
 public:
  Timestamp Now() const override {
    return {std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now()),
            std::chrono::system_clock::now()};
  }
  Duration BootOffset() const override {
    timespec boot{}, mono{};
    ::clock_gettime(CLOCK_BOOTTIME, &boot);
    ::clock_gettime(CLOCK_MONOTONIC, &mono);
    return std::chrono::seconds(boot.tv_sec - mono.tv_sec) +
           std::chrono::nanoseconds(boot.tv_nsec - mono.tv_nsec);
  }
};

inline std::int64_t EpochMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace vigil
