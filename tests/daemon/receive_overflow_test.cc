// The receive-overflow guard with explicit times and drop counts: episodes, the hold, the
// cap on a flood, and a cluster member that abstains while its socket overflows.
#include <gtest/gtest.h>

#include "daemon/receive_overflow.h"
#include "tests/daemon/cluster_member_fixture.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

using testing::AtMs;
using namespace std::chrono_literals;
using Change = ReceiveOverflow::Change;

ReceiveOverflowOptions Options() { return {.listen_window = 1000ms, .max_hold = 5000ms}; }

TEST(ReceiveOverflow, NoDropsNoEpisode) {
  ReceiveOverflow o(Options());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(o.Observe(AtMs(i * 50.0), 0), Change::kNone);
  EXPECT_FALSE(o.Overflowing(AtMs(5000)));
  EXPECT_EQ(o.episodes(), 0u);
}

TEST(ReceiveOverflow, DropsHoldReportsUntilAQuietListenWindow) {
  ReceiveOverflow o(Options());
  EXPECT_EQ(o.Observe(AtMs(0), 0), Change::kNone);
  EXPECT_EQ(o.Observe(AtMs(100), 7), Change::kStarted);
  EXPECT_TRUE(o.Holding(AtMs(100)));
  EXPECT_EQ(o.hold_until(), AtMs(1100));
  // More drops in the window: the same episode, held longer.
  EXPECT_EQ(o.Observe(AtMs(600), 9), Change::kNone);
  EXPECT_EQ(o.hold_until(), AtMs(1600));
  EXPECT_EQ(o.episode_drops(), 9u);
  // The same count is no drop: the hold is not extended, and ends on time.
  EXPECT_EQ(o.Observe(AtMs(1599), 9), Change::kNone);
  EXPECT_TRUE(o.Holding(AtMs(1599)));
  EXPECT_EQ(o.Observe(AtMs(1600), 9), Change::kEnded);
  EXPECT_FALSE(o.Overflowing(AtMs(1600)));
  EXPECT_EQ(o.Observe(AtMs(1700), 9), Change::kNone);  // ended once
  // Later drops: a second episode, counted from its own first drop.
  EXPECT_EQ(o.Observe(AtMs(3000), 10), Change::kStarted);
  EXPECT_EQ(o.episodes(), 2u);
  EXPECT_EQ(o.episode_drops(), 1u);
}

TEST(ReceiveOverflow, DropsAfterAQuietWindowStartANewEpisodeEvenUnobserved) {
  ReceiveOverflow o(Options());
  EXPECT_EQ(o.Observe(AtMs(0), 1), Change::kStarted);
  // No call in between: the drops at 5 s come after a quiet window.
  EXPECT_EQ(o.Observe(AtMs(5000), 2), Change::kStarted);
  EXPECT_EQ(o.episodes(), 2u);
}

TEST(ReceiveOverflow, AFloodStopsHoldingAfterMaxHoldAndOnlyAPauseResetsIt) {
  ReceiveOverflow o(Options());
  EXPECT_EQ(o.Observe(AtMs(0), 1), Change::kStarted);
  std::uint64_t drops = 1;
  Change last = Change::kNone;
  int capped_at = -1;
  for (int t = 100; t <= 9000 && capped_at < 0; t += 100) {
    last = o.Observe(AtMs(t), ++drops);
    if (last == Change::kCapped) capped_at = t;
  }
  EXPECT_EQ(capped_at, 5000);
  EXPECT_TRUE(o.Overflowing(AtMs(5000)));
  EXPECT_FALSE(o.Holding(AtMs(5000)));
  EXPECT_EQ(o.capped_episodes(), 1u);
  // Drops go on: still not holding, and no new episode (no pause of a listen window).
  for (int t = 5100; t <= 20000; t += 100) EXPECT_EQ(o.Observe(AtMs(t), ++drops), Change::kNone);
  EXPECT_FALSE(o.Holding(AtMs(20000)));
  EXPECT_EQ(o.episodes(), 1u);
  // A pause, then drops again: held again.
  EXPECT_EQ(o.Observe(AtMs(21000), drops), Change::kEnded);
  EXPECT_EQ(o.Observe(AtMs(21100), ++drops), Change::kStarted);
  EXPECT_TRUE(o.Holding(AtMs(21100)));
}

TEST(ReceiveOverflow, TheKernelsThirtyTwoBitCountWrapsAround) {
  ReceiveOverflow o(Options());
  EXPECT_EQ(o.Observe(AtMs(0), 0xFFFFFFF0u), Change::kStarted);
  EXPECT_EQ(o.Observe(AtMs(100), 5), Change::kNone);
  EXPECT_EQ(o.episode_drops(), std::uint64_t{0xFFFFFFF0} + 21);
  EXPECT_EQ(o.hold_until(), AtMs(1100));
}

// m1's socket overflows: the kernel drops m3's heartbeats to it. Fed the rising drop count,
// m1 convicts m3 but reports it to no one; once the drops stop being counted (the episode
// ends), the same silence is reported.
TEST_F(ClusterMemberTest, AMemberWhoseSocketOverflowsReportsNobodyUntilItEnds) {
  const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  for (int n = 1; n <= 3; ++n) Add(n, key);
  Run(seconds(10));
  ASSERT_EQ(M(1).member().view().size(), 3u);
  const udp::endpoint one(make_address("10.0.0.1"), 7946);
  const udp::endpoint three(make_address("10.0.0.3"), 7946);
  std::uint64_t drops = 0;
  bool counted = true;  // as kernel drops
  drop_ = [&](const Datagram& g) {
    const bool lost = g.to == one && g.from == three && g.bytes[3] != 3;
    drops += lost && counted ? 1 : 0;
    return lost;
  };
  const std::uint64_t convictions = M(1).member().convictions();
  const std::uint64_t refuted = M(3).member().refutations();
  for (int i = 0; i < 300; ++i) {  // 3 s
    Run(milliseconds(10));
    M(1).ObserveKernelDrops(now_, drops);
  }
  EXPECT_GT(M(1).member().convictions(), convictions);
  EXPECT_GT(M(1).member().abstentions(), 0u);
  EXPECT_TRUE(M(1).overflow().Holding(now_));
  EXPECT_EQ(M(1).overflow().episodes(), 1u);
  EXPECT_EQ(M(2).member().StatusOf("m3")->reports, 0);
  EXPECT_EQ(M(3).member().refutations(), refuted);  // reported to nobody
  // The same loss, no longer counted as drops: m1 reports m3 once its hold ends, and m3,
  // alive, refutes.
  counted = false;
  Run(seconds(3));
  EXPECT_EQ(M(1).ObserveKernelDrops(now_, drops), ReceiveOverflow::Change::kEnded);
  Run(seconds(2));
  EXPECT_GT(M(3).member().refutations(), refuted);
}

}  // namespace
}  // namespace vigil
