#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "detector/deadline_queue.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

using testing::AtMs;

TEST(DeadlineQueue, PopsOnlyDuePeersInOrder) {
  DeadlineQueue q;
  q.Resize(4);
  q.Set(0, AtMs(300));
  q.Set(1, AtMs(100));
  q.Set(2, AtMs(200));
  std::vector<PeerIndex> due;
  q.PopDue(AtMs(50), due);
  EXPECT_TRUE(due.empty());
  q.PopDue(AtMs(250), due);
  EXPECT_EQ(due, (std::vector<PeerIndex>{1, 2}));
  EXPECT_EQ(q.Get(1), kNever);
  EXPECT_EQ(q.NextWakeup(), AtMs(300));
}

TEST(DeadlineQueue, PostponedDeadlineIsNotDueAtItsOldTime) {
  DeadlineQueue q;
  q.Resize(1);
  q.Set(0, AtMs(100));
  q.Set(0, AtMs(500));  // a heartbeat pushed it later: O(1), heap entry keeps key 100
  std::vector<PeerIndex> due;
  q.PopDue(AtMs(100), due);
  EXPECT_TRUE(due.empty());
  EXPECT_EQ(q.NextWakeup(), AtMs(500));  // re-filed at the real deadline
  q.PopDue(AtMs(500), due);
  EXPECT_EQ(due, (std::vector<PeerIndex>{0}));
}

TEST(DeadlineQueue, EarlierDeadlineMovesUp) {
  DeadlineQueue q;
  q.Resize(2);
  q.Set(0, AtMs(500));
  q.Set(1, AtMs(400));
  q.Set(0, AtMs(100));
  EXPECT_EQ(q.NextWakeup(), AtMs(100));
  std::vector<PeerIndex> due;
  q.PopDue(AtMs(100), due);
  EXPECT_EQ(due, (std::vector<PeerIndex>{0}));
}

TEST(DeadlineQueue, ClearedPeerIsNeverDue) {
  DeadlineQueue q;
  q.Resize(2);
  q.Set(0, AtMs(100));
  q.Clear(0);
  std::vector<PeerIndex> due;
  q.PopDue(AtMs(1e9), due);
  EXPECT_TRUE(due.empty());
  EXPECT_EQ(q.heap_size(), 0u);
}

TEST(DeadlineQueue, ShrinkingDropsRemovedPeers) {
  DeadlineQueue q;
  q.Resize(3);
  q.Set(2, AtMs(10));
  q.Resize(2);
  std::vector<PeerIndex> due;
  q.PopDue(AtMs(1e9), due);
  EXPECT_TRUE(due.empty());
}

TEST(DeadlineQueue, MatchesABruteForceModel) {
  std::mt19937_64 rng(9);
  constexpr int kPeers = 200;
  DeadlineQueue q;
  q.Resize(kPeers);
  std::map<PeerIndex, double> model;
  double now = 0;
  for (int step = 0; step < 20000; ++step) {
    const PeerIndex p = static_cast<PeerIndex>(rng() % kPeers);
    const int op = static_cast<int>(rng() % 10);
    if (op < 7) {
      const double at = now + static_cast<double>(rng() % 1000);
      q.Set(p, AtMs(at));
      model[p] = at;
    } else if (op < 8) {
      q.Clear(p);
      model.erase(p);
    } else {
      now += static_cast<double>(rng() % 300);
      std::vector<PeerIndex> due;
      q.PopDue(AtMs(now), due);
      std::vector<PeerIndex> want;
      for (auto it = model.begin(); it != model.end();) {
        if (it->second <= now) {
          want.push_back(it->first);
          it = model.erase(it);
        } else {
          ++it;
        }
      }
      std::sort(due.begin(), due.end());
      ASSERT_EQ(due, want) << "step " << step;
    }
  }
  // At most one heap entry per peer, ever.
  EXPECT_LE(q.heap_size(), static_cast<std::size_t>(kPeers));
}

}  // namespace
}  // namespace vigil
