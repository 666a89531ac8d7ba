// A failing loop is never silent (issue 12, item 4): vigild logs it and exits 1 so systemd
// restarts it, and stops pinging systemd's watchdog when a loop stops making progress.
// Failures are injected with VIGIL_FAILPOINT (daemon/failpoint.h).
#include <gtest/gtest.h>

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <string>

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

// A Unix datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~NotifySocket() { ::close(fd_); }
  bool bound() const { return bound_; }
  // Counts datagrams containing `what` that arrive within `window`.
  int Count(const std::string& what, std::chrono::milliseconds window) {
    int n = 0;
    const auto end = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[512];
      const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got > 0 && std::string(buf, static_cast<std::size_t>(got)).find(what) != std::string::npos) {
        ++n;
      }
    }
    return n;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
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
  // The send loop hangs at its third round; pings go on until its timer is overdue by the
  // grace (2 s here), then stop, and the reason is logged.
  ASSERT_TRUE(WaitUntil([&] {
    return c.node(0).Log().find("stopped making progress") != std::string::npos;
  })) << c.node(0).Log();
  notify.Count("", std::chrono::milliseconds(100));  // drains the pings sent before that
  EXPECT_EQ(notify.Count("WATCHDOG=1", std::chrono::seconds(1)), 0);
  // The API still answers: it is the send loop that hangs, not the process.
  std::string error;
  EXPECT_TRUE(c.node(0).Client().Get("/v1/health", &error).has_value()) << error;
  c.node(0).Signal(SIGKILL);
}

TEST(Watchdog, IsPingedWhileTheLoopsRun) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  NotifySocket notify(c.dir().File("notify"));
  ASSERT_TRUE(notify.bound());
  {
    ScopedEnv socket("NOTIFY_SOCKET", c.dir().File("notify"));
    ScopedEnv watchdog("WATCHDOG_USEC", "400000");
    ASSERT_TRUE(c.node(0).Start()) << c.node(0).Log();
  }
  EXPECT_GE(notify.Count("WATCHDOG=1", std::chrono::seconds(3)), 5);
}

}  // namespace
}  // namespace vigil::testing
