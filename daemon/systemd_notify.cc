#include "daemon/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <chrono>

namespace vigil {

void SystemdNotifier::Ready() { sd_notify(0, "READY=1"); }

void SystemdNotifier::Reloading(MonoTime now) {
  // MONOTONIC_USEC lets newer systemd (253+) match the reload; older ones ignore it.
  const auto usec =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%lld", static_cast<long long>(usec));
}

void SystemdNotifier::Stopping() { sd_notify(0, "STOPPING=1"); }

void SystemdNotifier::Status(const std::string& status) {
  if (status == last_status_) return;
  last_status_ = status;
  sd_notifyf(0, "STATUS=%s", status.c_str());
}

void SystemdNotifier::Watchdog() { sd_notify(0, "WATCHDOG=1"); }

std::optional<Duration> SystemdNotifier::WatchdogPingInterval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

}  // namespace vigil
