// The Daemon's supervision of its own loops: none may fail silently (issue 12, item 4).
// A loop that throws, or ends while the daemon is not stopping, stops vigild with exit code
// 1 so that systemd restarts it; systemd's watchdog is pinged only while the loops that
// detect failures are alive.
#include "daemon/daemon.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vigil {

namespace asio = boost::asio;

std::function<void(std::exception_ptr)> Daemon::Supervise(const char* loop) {
  return [this, loop](std::exception_ptr e) {
    if (std::string_view(loop) == "receive") receiving_ = false;
    if (e) {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        what = x.what();
      } catch (...) {
      }
      Fail(loop, what);
    } else if (!stopping_) {
      Fail(loop, "it ended although vigild was not stopping");
    }
  };
}

void Daemon::Fail(const char* loop, const std::string& what) {
  if (exit_code_ != 0) return;  // the first failure is the one to report
  exit_code_ = 1;
  spdlog::critical("the {} loop failed: {}; vigild exits with status 1 (systemd restarts it)",
                   loop, what);
  notifier_.Status(fmt::format("failed: the {} loop: {}", loop, what));
  if (stopping_) return;
  notifier_.Stopping();
  SaveState(false);  // the next run starts from a fresh high-water mark, as after a kill
  CloseEverything();
}

bool Daemon::LoopsProgressing() const {
  // A loop waiting on a timer that is long overdue has stopped re-arming: it hangs.
  const auto now = asio::steady_timer::clock_type::now();
  const auto grace = std::chrono::duration_cast<asio::steady_timer::duration>(
      std::max<Duration>(std::chrono::seconds(2), 3 * config_.heartbeat_interval));
  const auto fresh = [&](const asio::steady_timer& t) {
    return t.expiry() == asio::steady_timer::time_point::max() || t.expiry() + grace > now;
  };
  return receiving_ && fresh(send_timer_) && fresh(deadline_timer_);
}

asio::awaitable<void> Daemon::WatchdogLoop(Duration interval) {
  // Pinged from the event loop itself: if the loop is stuck, the pings stop and systemd
  // restarts us. So do they if one of the detecting loops stopped making progress.
  while (!stopping_) {
    if (LoopsProgressing()) {
      notifier_.Watchdog();
      reported_stall_ = false;
    } else if (!reported_stall_) {
      reported_stall_ = true;
      spdlog::critical("a loop of vigild stopped making progress (send timer {}, deadline "
                       "timer {}, receiving {}): no more watchdog pings, systemd will restart "
                       "vigild",
                       send_timer_.expiry() < asio::steady_timer::clock_type::now() ? "overdue"
                                                                                    : "armed",
                       deadline_timer_.expiry() < asio::steady_timer::clock_type::now()
                           ? "overdue"
                           : "armed",
                       receiving_);
      notifier_.Status("stalled: a loop stopped making progress; watchdog pings stopped");
    }
    watchdog_timer_.expires_after(interval);
    co_await watchdog_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace vigil
