// The daemon's side of systemd's notify protocol (sd_notify). Harmless without systemd.
#pragma once

#include <optional>
#include <string>

#include "base/time.h"

namespace vigil {

class SystemdNotifier {
 public:
  void Ready();
  // `now` is sent as MONOTONIC_USEC: the daemon's clock must be CLOCK_MONOTONIC (RealClock).
  void Reloading(MonoTime now);
  void Stopping();
  void Status(const std::string& status);
  void Watchdog();
  // Half of WATCHDOG_USEC if systemd's watchdog is on for this process, else nullopt.
  static std::optional<Duration> WatchdogPingInterval();

 private:
  std::string last_status_;
};

}  // namespace vigil
