// How vigild paces its own heartbeat rounds (daemon/send_schedule.h): slices bounded in
// size, spread over half the interval, and overload told apart from an on-time round.
#include "daemon/send_schedule.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

MonoTime At(int ms) { return MonoTime{} + milliseconds(ms); }

TEST(PlanRound, FewPeersGoInOneSliceAtOnce) {
  EXPECT_EQ(PlanRound(0, seconds(1)).slices, 0u);
  const RoundPlan three = PlanRound(3, seconds(1));
  EXPECT_EQ(three.slices, 1u);
  EXPECT_EQ(three.spacing, Duration::zero());
  EXPECT_EQ(PlanRound(kSendSliceSize, seconds(1)).slices, 1u);
}

TEST(PlanRound, ManyPeersAreSpreadOverHalfTheInterval) {
  const RoundPlan plan = PlanRound(100'000, seconds(1));
  EXPECT_EQ(plan.slices, (100'000 + kSendSliceSize - 1) / kSendSliceSize);
  // The last slice starts before half the interval has passed, and no two start together.
  EXPECT_GT(plan.spacing, Duration::zero());
  EXPECT_LE(plan.spacing * static_cast<std::int64_t>(plan.slices - 1), milliseconds(500));
  EXPECT_GT(plan.spacing * static_cast<std::int64_t>(plan.slices - 1), milliseconds(490));
}

TEST(NextRoundAfter, RoundsKeepTheirSlotsAndJitterDoesNotAccumulate) {
  MonoTime slot = At(0);
  for (int k = 1; k <= 50; ++k) {
    // However late each wake-up and whichever way the jitter goes, slot k is k intervals in.
    const double jitter = k % 2 ? 0.1 : -0.1;
    const NextRound next = NextRoundAfter(slot, milliseconds(100), slot + milliseconds(30),
                                          jitter);
    EXPECT_EQ(next.slot, At(100 * k));
    EXPECT_EQ(next.start, At(100 * k) + milliseconds(k % 2 ? 10 : -10));
    slot = next.slot;
  }
}

TEST(NextRoundAfter, AScheduleAWholeIntervalBehindStartsAfreshInsteadOfBursting) {
  // Suspended for a second: the next round leaves now, not ten rounds back to back.
  const NextRound next = NextRoundAfter(At(0), milliseconds(100), At(1000), 0);
  EXPECT_EQ(next.slot, At(1000));
  EXPECT_EQ(next.start, At(1000));
  // Less than an interval behind: still the slot, even if it has passed.
  EXPECT_EQ(NextRoundAfter(At(0), milliseconds(100), At(150), 0).slot, At(100));
}

TEST(SliceOf, CoversEveryPeerOnceInOrder) {
  const std::size_t targets = 3 * kSendSliceSize + 5;
  const RoundPlan plan = PlanRound(targets, seconds(1));
  std::size_t next = 0;
  for (std::size_t s = 0; s < plan.slices; ++s) {
    const SliceRange r = SliceOf(s, targets);
    EXPECT_EQ(r.begin, next);
    EXPECT_LE(r.end - r.begin, kSendSliceSize);
    EXPECT_GT(r.end, r.begin);
    next = r.end;
  }
  EXPECT_EQ(next, targets);
  // A table that shrank mid-round (a reload) clamps the slices that are left.
  EXPECT_EQ(SliceOf(3, 2 * kSendSliceSize).begin, SliceOf(3, 2 * kSendSliceSize).end);
}

TEST(SendLoad, OnTimeRoundsAreNotOverload) {
  SendLoad load;
  for (int r = 0; r < 10; ++r) {
    EXPECT_EQ(load.OnRoundDone(At(1000 * r), At(1000 * r + 600), seconds(1), 100'000),
              SendLoad::Change::kNone);
  }
  EXPECT_FALSE(load.Overloaded(At(10'000)));
  EXPECT_EQ(load.rounds(), 10u);
  EXPECT_EQ(load.late_rounds(), 0u);
  EXPECT_EQ(load.last_round(), milliseconds(600));
  EXPECT_EQ(load.last_round_datagrams(), 100'000u);
}

TEST(SendLoad, ARoundPastTheNextSlotIsOverloadUntilRoundsAreOnTimeForTheHold) {
  SendLoad load(seconds(10));
  EXPECT_EQ(load.OnRoundDone(At(0), At(1500), seconds(1), 10),
            SendLoad::Change::kBecameOverloaded);
  EXPECT_TRUE(load.Overloaded(At(1500)));
  // Still late: the same episode.
  EXPECT_EQ(load.OnRoundDone(At(1500), At(3000), seconds(1), 10), SendLoad::Change::kNone);
  EXPECT_EQ(load.episodes(), 1u);
  EXPECT_EQ(load.late_rounds(), 2u);
  // On time again, but within the hold: still reported overloaded.
  EXPECT_EQ(load.OnRoundDone(At(3000), At(3500), seconds(1), 10), SendLoad::Change::kNone);
  EXPECT_TRUE(load.Overloaded(At(12'000)));
  // The hold has passed since the last late round: recovered, once.
  EXPECT_EQ(load.OnRoundDone(At(13'000), At(13'500), seconds(1), 10),
            SendLoad::Change::kRecovered);
  EXPECT_FALSE(load.Overloaded(At(13'500)));
  EXPECT_EQ(load.OnRoundDone(At(14'000), At(14'500), seconds(1), 10), SendLoad::Change::kNone);
  // A new late round is a new episode.
  EXPECT_EQ(load.OnRoundDone(At(15'000), At(16'200), seconds(1), 10),
            SendLoad::Change::kBecameOverloaded);
  EXPECT_EQ(load.episodes(), 2u);
}

TEST(SendLoad, OverloadIsNotReportedAfterTheHoldWithoutAnotherRound) {
  SendLoad load(seconds(10));
  load.OnRoundDone(At(0), At(2000), seconds(1), 10);
  EXPECT_TRUE(load.Overloaded(At(11'999)));
  EXPECT_FALSE(load.Overloaded(At(12'000)));
  EXPECT_TRUE(load.InEpisode());  // the recovery is reported with the next round
}

}  // namespace
}  // namespace vigil
