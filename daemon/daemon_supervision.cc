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

std::function<void(std::exception_ptr)> Daemon::Supervise(const char* loop, bool may_end) {
  return [this, loop, may_end](std::exception_ptr e) {
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
    } else if (!stopping_ && !may_end) {
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
  // Each detecting loop stamps the time it last did its work: the send loop after every
  // slice (a slow, overloaded round still progresses), the deadline loop at least once a
  // second. A stamp older than the grace means the loop hangs.
  const MonoTime now = clock_.Now().mono;
  return receiving_ && now - send_progress_ < ProgressGrace() &&
         now - deadline_progress_ < ProgressGrace();
}

Duration Daemon::ProgressGrace() const {
  return std::max<Duration>(std::chrono::seconds(2), 3 * config_.heartbeat.interval);
}

asio::awaitable<void> Daemon::WatchdogLoop(Duration interval) {
  // Pinged from the event loop itself: if the loop is stuck, the pings stop and systemd
  // restarts us. So do they if one of the detecting loops stopped making progress.
  watchdog_woke_ = clock_.Now().mono;
  while (!stopping_) {
    watchdog_timer_.expires_after(interval);
    co_await watchdog_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    const MonoTime now = clock_.Now().mono;
    // Woke far too late: the whole process was not running (stopped, starved, suspended).
    // The other loops have not had their turn yet either; judge them next time.
    const bool process_paused = now - watchdog_woke_ > interval + ProgressGrace();
    watchdog_woke_ = now;
    if (process_paused) continue;
    if (LoopsProgressing()) {
      notifier_.Watchdog();
      if (reported_stall_) {
        reported_stall_ = false;
        spdlog::warn("the loops of vigild make progress again; watchdog pings resumed");
        UpdateStatus();
      }
    } else if (!reported_stall_) {
      reported_stall_ = true;
      spdlog::critical("a loop of vigild stopped making progress (send loop last progressed {} "
                       "ms ago, deadline loop {} ms ago, receiving {}): no more watchdog pings, "
                       "systemd will restart vigild",
                       static_cast<std::int64_t>(ToMillis(now - send_progress_)),
                       static_cast<std::int64_t>(ToMillis(now - deadline_progress_)), receiving_);
      notifier_.Status("stalled: a loop stopped making progress; watchdog pings stopped");
    }
  }
}

}  // namespace vigil
