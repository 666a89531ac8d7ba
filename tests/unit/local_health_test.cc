// The local-health guard, with explicit times: stalls, suspends, episodes, the hold window,
// and the Node holding convictions while it lasts.
#include <gtest/gtest.h>

#include "daemon/local_health.h"
#include "daemon/node.h"
#include "tests/unit/test_messages.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

using testing::AtMs;
using namespace std::chrono_literals;

LocalHealthOptions Options() { return {250ms, 1000ms}; }

TEST(LocalHealth, RegularTicksAreHealthy) {
  LocalHealth h(Options());
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(h.Observe(AtMs(i * 50.0), 0ms));
  EXPECT_FALSE(h.Degraded(AtMs(5000)));
  EXPECT_EQ(h.episodes(), 0u);
}

TEST(LocalHealth, ALateLoopStartsOneEpisodeAndHoldsConvictions) {
  LocalHealth h(Options());
  h.Observe(AtMs(0), 0ms);
  h.Observe(AtMs(50), 0ms);
  EXPECT_TRUE(h.Observe(AtMs(10050), 0ms));  // stopped for 10 s
  EXPECT_EQ(h.cause(), StallCause::kLoopStall);
  EXPECT_EQ(h.last_gap(), 10000ms);
  EXPECT_TRUE(h.Degraded(AtMs(10050)));
  EXPECT_EQ(h.hold_until(), AtMs(11050));
  // Another late tick inside the window extends it but is the same episode.
  EXPECT_FALSE(h.Observe(AtMs(10400), 0ms));
  EXPECT_EQ(h.episodes(), 1u);
  EXPECT_EQ(h.hold_until(), AtMs(11400));
  EXPECT_TRUE(h.Degraded(AtMs(11399)));
  EXPECT_FALSE(h.Degraded(AtMs(11400)));
  // Regular ticks again, then a second stall: a second episode.
  for (double t = 10450; t <= 11500; t += 50) EXPECT_FALSE(h.Observe(AtMs(t), 0ms));
  EXPECT_FALSE(h.Degraded(AtMs(11500)));
  EXPECT_TRUE(h.Observe(AtMs(12000), 0ms));
  EXPECT_EQ(h.episodes(), 2u);
}

TEST(LocalHealth, JustBelowTheThresholdIsNotAStall) {
  LocalHealth h(Options());
  h.Observe(AtMs(0), 0ms);
  EXPECT_FALSE(h.Observe(AtMs(249), 0ms));
  EXPECT_TRUE(h.Observe(AtMs(499), 0ms));
}

TEST(LocalHealth, ASuspendIsSeenThroughTheBootClock) {
  LocalHealth h(Options());
  h.Observe(AtMs(0), 0ms);
  // Monotonic time barely moved, but the boot clock ran on for an hour.
  EXPECT_TRUE(h.Observe(AtMs(60), std::chrono::hours(1)));
  EXPECT_EQ(h.cause(), StallCause::kSuspend);
  EXPECT_TRUE(h.Degraded(AtMs(60)));
}

TEST(LocalHealth, TimeGoingBackwardsIsNotAStall) {
  LocalHealth h(Options());
  h.Observe(AtMs(1000), 0ms);
  EXPECT_FALSE(h.Observe(AtMs(500), 0ms));
  EXPECT_FALSE(h.Observe(AtMs(1100), 0ms));
}

TEST(NodeHold, NoConvictionWhileHeldThenJudgedWithFreshData) {
  auto r = LoadConfigString(
      "node:\n  id: me\nheartbeat:\n  interval: 100ms\ndetector:\n  kind: timeout\n  timeout: "
      "500ms\npeers:\n  - id: a\n    address: 10.0.0.1\n  - id: b\n    address: 10.0.0.2\n",
      "t.yaml");
  ASSERT_TRUE(r.ok());
  Node node(*r.config, {AtMs(0), WallTime{}});
  auto beat = [&](const char* id, std::uint64_t seq, double at) {
    return node.OnDatagram(testing::EncodedMessage(id, 1, seq), false, {AtMs(at), WallTime{}});
  };
  beat("a", 1, 0);
  beat("b", 1, 0);
  // The observer was stopped from 50 to 10050; it holds until 11050.
  node.NoteObservationGap();
  node.RunDue({AtMs(10050), WallTime{}}, AtMs(11050));
  EXPECT_EQ(node.peers()[0].monitor.state(), PeerState::kUp);
  EXPECT_EQ(node.peers()[1].monitor.state(), PeerState::kUp);
  EXPECT_EQ(node.NextWakeup(), AtMs(11050));
  // a is alive and heard during the window; b really died.
  beat("a", 2, 10100);
  beat("a", 3, 10600);
  node.RunDue({AtMs(11050), WallTime{}}, AtMs(11050));
  EXPECT_EQ(node.peers()[0].monitor.state(), PeerState::kUp);
  EXPECT_EQ(node.peers()[1].monitor.state(), PeerState::kDown);
  // The 10 s gap was not learned as one of a's intervals.
  EXPECT_LT(node.peers()[0].monitor.detector().Stats().mean_ms, 1000.0);
}

}  // namespace
}  // namespace vigil
