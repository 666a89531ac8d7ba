// A failing loop is never silent (issue 12, item 4): vigild logs it and exits 1 so systemd
// restarts it, and stops pinging systemd's watchdog when a loop stops making progress.
// Failures are injected with VIGIL_FAILPOINT (daemon/failpoint.h).
#include <gtest/gtest.h>

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/cluster.h"

namespace vigil::testing {
namespace {

// Sets an environment variable for the daemons started while it lives.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

class LoopFailure : public ::testing::TestWithParam<const char*> {};

TEST_P(LoopFailure, IsLoggedAndEndsTheDaemonWithStatusOne) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  ASSERT_TRUE(c.node(1).Start()) << c.node(1).Log();  // sends, so n1 receives
  {
    ScopedEnv failpoint("VIGIL_FAILPOINT", GetParam());
    c.node(0).Start();  // it may fail before its API answers
  }
  EXPECT_EQ(c.node(0).WaitExit(), 1) << c.node(0).Log();
  EXPECT_NE(c.node(0).Log().find(std::string("the ") + GetParam() + " loop failed: failpoint '" +
                                 GetParam() + "'; vigild exits with status 1"),
            std::string::npos)
      << c.node(0).Log();
  // What it knew is saved (as after a kill), so the next run restores it.
  EXPECT_TRUE(WaitUntil([&] { return c.node(0).Start(); })) << c.node(0).Log();
}

INSTANTIATE_TEST_SUITE_P(Daemon, LoopFailure, ::testing::Values("send", "receive", "deadline"));

// A Unix datagram socket standing in for systemd's notification socket. Like systemd, it
// reads every message as it comes (a full queue would block the daemon's sd_notify).
class NotifySocket {
 public:
  using Clock = std::chrono::steady_clock;
  explicit NotifySocket(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    reader_ = std::thread([this] { Read(); });
  }
  ~NotifySocket() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
  }
  bool bound() const { return bound_; }
  // Messages containing `what` that arrived at or after `since`.
  int CountSince(const std::string& what, Clock::time_point since) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& [at, text] : messages_) {
      if (at >= since && text.find(what) != std::string::npos) ++n;
    }
    return n;
  }

 private:
  void Read() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[512];
      const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got <= 0) continue;
      std::lock_guard lock(mu_);
      messages_.emplace_back(Clock::now(), std::string(buf, static_cast<std::size_t>(got)));
    }
  }
  int fd_ = -1;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::pair<Clock::time_point, std::string>> messages_;
  std::thread reader_;
};

TEST(Watchdog, IsNotPingedOnceTheSendLoopHangs) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  NotifySocket notify(c.dir().File("notify"));
  ASSERT_TRUE(notify.bound());
  {
    ScopedEnv socket("NOTIFY_SOCKET", c.dir().File("notify"));
    ScopedEnv watchdog("WATCHDOG_USEC", "400000");  // a ping every 200 ms
    ScopedEnv failpoint("VIGIL_FAILPOINT", "send-stall");
    ASSERT_TRUE(c.node(0).Start()) << c.node(0).Log();
  }
  // The send loop hangs at its third round; pings go on until its last progress is older
  // than the grace (2 s here), then stop, and the reason is logged.
  ASSERT_TRUE(WaitUntil([&] {
    return c.node(0).Log().find("stopped making progress") != std::string::npos;
  })) << c.node(0).Log();
  const auto logged = NotifySocket::Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_GE(notify.CountSince("WATCHDOG=1", {}), 5);  // it was pinged while the loops ran
  EXPECT_EQ(notify.CountSince("WATCHDOG=1", logged), 0);
  EXPECT_GE(notify.CountSince("STATUS=stalled: a loop stopped making progress", {}), 1);
  // The API still answers: it is the send loop that hangs, not the process.
  std::string error;
  EXPECT_TRUE(c.node(0).Client().Get("/v1/health", &error).has_value()) << error;
  c.node(0).Signal(SIGKILL);
}

class WatchdogPings : public ::testing::TestWithParam<int> {};

// With peers, and with none at all (an empty send round is progress too).
TEST_P(WatchdogPings, GoOnWhileTheLoopsRun) {
  ClusterOptions o;
  o.nodes = GetParam();
  Cluster c(o);
  NotifySocket notify(c.dir().File("notify"));
  ASSERT_TRUE(notify.bound());
  {
    ScopedEnv socket("NOTIFY_SOCKET", c.dir().File("notify"));
    ScopedEnv watchdog("WATCHDOG_USEC", "400000");
    ASSERT_TRUE(c.node(0).Start()) << c.node(0).Log();
  }
  // Past the 2 s grace of a loop without progress: pings go on.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto start = NotifySocket::Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_GE(notify.CountSince("WATCHDOG=1", start), 5) << c.node(0).Log();
  EXPECT_EQ(c.node(0).Log().find("stopped making progress"), std::string::npos)
      << c.node(0).Log();
}

INSTANTIATE_TEST_SUITE_P(Peers, WatchdogPings, ::testing::Values(1, 2),
                         [](const auto& param_info) { return param_info.param == 1 ? "None" : "One"; });

}  // namespace
}  // namespace vigil::testing
