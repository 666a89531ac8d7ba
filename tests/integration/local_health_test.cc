// A frozen observer must not declare its peers dead when it wakes up.
#include <gtest/gtest.h>

#include <signal.h>

#include <thread>

#include "tests/integration/cluster.h"

namespace vigil::testing {
namespace {

namespace json = boost::json;

TEST(LocalHealthGuard, AFrozenObserverReportsNoFalseDown) {
  Cluster c;
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  // Freeze n1 for 3 s: five times its peers' detection time. They are alive all along.
  c.node(0).Signal(SIGSTOP);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  c.node(0).Signal(SIGCONT);
  // n1 comes back, notices it was not listening, and keeps both peers up.
  ASSERT_TRUE(WaitUntil([&] {
    const auto self = c.node(0).GetJson("/v1/self");
    return self && json::value_to<std::int64_t>(
                       self->as_object().at("local_health").at("episodes")) >= 1;
  })) << c.node(0).Log();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // past the listening window
  EXPECT_EQ(c.node(0).PeerState("n2"), "up");
  EXPECT_EQ(c.node(0).PeerState("n3"), "up");
  // No down event at all in n1's history (replayed from the start of its ring).
  EventCollector replay(c.node(0).socket(), "0");
  ASSERT_TRUE(replay.WaitOpen());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(replay.Saw("n2", "down")) << c.node(0).Log();
  EXPECT_FALSE(replay.Saw("n3", "down")) << c.node(0).Log();
  EXPECT_FALSE(replay.Saw("n2", "suspect"));
  // Logged once for the episode.
  const std::string log = c.node(0).Log();
  const auto first = log.find("could not observe its peers");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("could not observe its peers", first + 1), std::string::npos) << log;
  // Meanwhile its peers rightly saw n1 go down and come back with the same incarnation.
  EXPECT_TRUE(WaitUntil([&] { return c.node(1).PeerState("n1") == "up"; }));
  const auto peer = c.node(1).GetJson("/v1/peers/n1");
  ASSERT_TRUE(peer);
  EXPECT_GE(json::value_to<std::int64_t>(peer->as_object().at("flaps")), 1);
}

TEST(LocalHealthGuard, ARealCrashIsStillDetectedAfterAStall) {
  Cluster c;
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  // n3 dies while n1 is frozen: when n1 wakes it must still find out.
  c.node(0).Signal(SIGSTOP);
  c.node(2).Signal(SIGKILL);
  c.node(2).WaitExit();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  c.node(0).Signal(SIGCONT);
  EXPECT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n3") == "down"; })) << c.node(0).Log();
  EXPECT_EQ(c.node(0).PeerState("n2"), "up");
}

}  // namespace
}  // namespace vigil::testing
