// A failing loop is never silent (issue 12, item 4): vigild logs it and exits 1 so systemd
// restarts it, and stops pinging systemd's watchdog when a loop stops making progress.
// Failures are injected with VIGIL_FAILPOINT (daemon/failpoint.h).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/cluster.h"
#include "tests/integration/systemd_stand_in.h"

namespace vigil::testing {
namespace {

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
  const auto health = c.node(0).Client().Get("/v1/health");
  EXPECT_TRUE(health.ok()) << health.message();
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
