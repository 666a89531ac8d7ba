// A cluster of MembershipNodes in simulated time (docs/membership.md): a crashed member is
// taken out by every live member, nobody alive is, concurrent crashes leave in few cuts, and
// each member's traffic stays near K heartbeats per interval. Small and fast: the figures at
// 1,000 to 10,000 nodes come from vigil-sim (docs/benchmarks.md).
#include "sim/cluster_simulation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

namespace vigil::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ClusterOptions Options(std::size_t nodes, double loss, std::uint64_t seed) {
  ClusterOptions o;
  o.nodes = nodes;
  o.loss = loss;
  o.seed = seed;
  return o;
}

// The members that took `member` out.
std::set<std::size_t> TakenOutBy(const ClusterSimulation& c, std::size_t member) {
  std::set<std::size_t> by;
  for (const auto& r : c.removals()) {
    if (r.removed == member) by.insert(r.by);
  }
  return by;
}

TEST(ClusterSimulation, ACrashedMemberIsTakenOutByEveryLiveMemberAndNobodyElseIs) {
  ClusterSimulation c(Options(64, 0.0, 1));
  c.RunFor(seconds(60));
  ASSERT_TRUE(c.removals().empty());
  c.Crash(17);
  const MonoTime crash = c.now();
  c.RunFor(seconds(30));
  const auto by = TakenOutBy(c, 17);
  EXPECT_EQ(by.size(), 63u);
  Duration slowest{};
  for (const auto& r : c.removals()) {
    EXPECT_EQ(r.removed, 17u) << "a live member was taken out";
    slowest = std::max(slowest, r.at - crash);
  }
  EXPECT_LT(slowest, seconds(20));  // generous: docs/benchmarks.md has the real figures
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i != 17) {
      EXPECT_EQ(c.node(i).view().size(), 63u);
    }
  }
  // Probed ever since, it never answers: nobody takes it back.
  c.RunFor(seconds(30));
  EXPECT_TRUE(c.readmissions().empty());
}

// docs/membership.md, "Leaving": members that leave are taken out by every live member, as
// left, before any detector could have convicted them (a member that crashed at the same
// moment is the yardstick), and nobody probes them back. Under loss too: the leave floods.
TEST(ClusterSimulation, LeavingMembersAreTakenOutAsLeftEverywhereBeforeACrashIs) {
  for (const double loss : {0.0, 0.05}) {
    ClusterSimulation c(Options(64, loss, 2));
    c.RunFor(seconds(60));
    ASSERT_TRUE(c.removals().empty());
    c.LeaveAt(17, c.now());
    c.LeaveAt(40, c.now());
    c.CrashAt(30, c.now());
    c.RunFor(seconds(30));
    for (const std::size_t gone : {17u, 30u, 40u}) {
      EXPECT_EQ(TakenOutBy(c, gone).size(), 61u) << gone << " loss " << loss;
    }
    MonoTime first_crash_removal = kNever;
    MonoTime last_leave_removal = MonoTime::min();
    for (const auto& r : c.removals()) {
      EXPECT_EQ(r.left, r.removed != 30u) << r.removed << " by " << r.by << " loss " << loss;
      if (r.removed == 30u) {
        first_crash_removal = std::min(first_crash_removal, r.at);
      } else {
        last_leave_removal = std::max(last_leave_removal, r.at);
      }
    }
    EXPECT_LT(last_leave_removal, first_crash_removal) << "loss " << loss;
    c.RunFor(seconds(30));
    EXPECT_TRUE(c.readmissions().empty());
  }
}

TEST(ClusterSimulation, NoLiveMemberIsTakenOutUnderLoss) {
  ClusterSimulation c(Options(48, 0.05, 2));
  c.RunFor(std::chrono::minutes(10));
  EXPECT_TRUE(c.removals().empty());
}

// Observers allowed 30 mistakes per subject-hour (ten times the default) convict live
// members all the time at 10 % loss; the reported members refute and nobody is taken out.
TEST(ClusterSimulation, RefutationKeepsLiveMembersInUnderHeavyLoss) {
  ClusterOptions options = Options(40, 0.10, 5);
  AdaptiveKnobs eager;
  eager.target_mistakes_per_hour = 30;
  options.member.detector.knobs = eager;
  ClusterSimulation c(options);
  c.RunFor(std::chrono::minutes(6));
  std::uint64_t convictions = 0, refutations = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    convictions += c.node(i).convictions();
    refutations += c.node(i).refutations();
  }
  EXPECT_GT(convictions, 500u);
  EXPECT_GT(refutations, 250u);
  EXPECT_TRUE(c.removals().empty());
  // All that gossip went through the membership datagram's encoder and decoder.
  EXPECT_EQ(c.unusable_datagrams(), 0u);
}

// A member stopped for 10 s is silent, so it is taken out; nobody else is. Once it runs
// again it is told, refutes, and is back in every view within 2 s.
TEST(ClusterSimulation, AFrozenMemberTakesNobodyElseOutAndComesBack) {
  ClusterSimulation c(Options(100, 0.0, 6));
  c.RunFor(seconds(120));
  c.FreezeAt(33, c.now(), seconds(10));
  c.RunFor(seconds(10));
  for (const auto& r : c.removals()) EXPECT_EQ(r.removed, 33u) << "by " << r.by;
  EXPECT_EQ(TakenOutBy(c, 33).size(), 99u);
  const MonoTime thawed = c.now();
  c.RunFor(seconds(2));
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_TRUE(c.node(i).view().Find(ClusterSimulation::IdOf(33)).has_value()) << i;
  }
  EXPECT_EQ(c.thawed_at(33), thawed);
  EXPECT_GT(c.node(33).incarnation(), 1u);  // it refuted
  std::set<std::size_t> back;
  for (const auto& r : c.readmissions()) {
    EXPECT_EQ(r.removed, 33u);
    EXPECT_GE(r.at, thawed);
    back.insert(r.by);
  }
  EXPECT_EQ(back.size(), 99u);
  c.RunFor(seconds(60));  // and it stays in: its observers hear it again
  EXPECT_EQ(c.removals().size(), 99u);
  EXPECT_TRUE(c.ever_frozen(33));
  EXPECT_EQ(c.unusable_datagrams(), 0u);
}

// A member cut off for 10 s is taken out, and what was said about it was lost: once the
// partition ends, its heartbeats reach observers that took it out, they tell it, it refutes,
// and it is back in every view. It took nobody out itself.
TEST(ClusterSimulation, AMemberCutOffIsToldItIsOutOnceHeardAndComesBack) {
  ClusterSimulation c(Options(100, 0.0, 7));
  c.RunFor(seconds(120));
  c.PartitionAt({5}, c.now(), seconds(10));
  c.RunFor(seconds(10));
  EXPECT_EQ(TakenOutBy(c, 5).size(), 99u);
  c.RunFor(seconds(4));  // a heartbeat, a notice, a refutation, the flood and the batch
  std::uint64_t notices = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_TRUE(c.node(i).view().Find(ClusterSimulation::IdOf(5)).has_value()) << i;
    notices += c.node(i).notices_sent();
  }
  EXPECT_GT(notices, 0u);
  EXPECT_GT(c.node(5).incarnation(), 1u);
  for (const auto& r : c.removals()) EXPECT_EQ(r.removed, 5u) << "by " << r.by;
  EXPECT_EQ(c.readmissions().size(), 99u);
  EXPECT_EQ(c.unusable_datagrams(), 0u);
}

// Each side of a 50/50 partition takes the other out; once it heals, probes and notices
// cross, every member refutes once, and every view is whole again within 5 s.
TEST(ClusterSimulation, BothSidesOfAHealedPartitionTakeEachOtherBack) {
  ClusterSimulation c(Options(100, 0.0, 11));
  c.RunFor(seconds(60));
  std::vector<std::size_t> side;
  for (std::size_t i = 0; i < 100; i += 2) side.push_back(i);
  c.PartitionAt(side, c.now(), seconds(30));
  c.RunFor(seconds(30));
  EXPECT_EQ(c.removals().size(), 2u * 50 * 50);  // each side took the whole other side out
  for (const auto& r : c.removals()) EXPECT_NE(r.by % 2, r.removed % 2);
  ASSERT_EQ(c.healed_at(), c.now());
  // Neither half held a majority (docs/api.md, "majority"): each member holds half.
  for (const auto& half : c.sides_at_heal()) {
    EXPECT_EQ(half.members, 50u);
    EXPECT_EQ(half.majority, 0u);
    EXPECT_DOUBLE_EQ(half.reach_min, 0.5);
    EXPECT_DOUBLE_EQ(half.reach_max, 0.5);
  }
  c.RunFor(seconds(5));
  std::uint64_t refutations = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c.node(i).view().size(), 100u) << i;
    refutations += c.node(i).refutations();
  }
  EXPECT_EQ(refutations, 100u);  // each member once: no incarnation raised twice
  EXPECT_EQ(c.readmissions().size(), 2u * 50 * 50);
  c.RunFor(seconds(30));  // and it stays whole
  EXPECT_EQ(c.removals().size(), 2u * 50 * 50);
  EXPECT_EQ(c.unusable_datagrams(), 0u);
}

// In a 70/30 split, every member of the 70 says it holds a majority, none of the 30 does.
TEST(ClusterSimulation, OnlyTheLargerSideOfAPartitionHoldsAMajority) {
  ClusterSimulation c(Options(100, 0.0, 12));
  c.RunFor(seconds(60));
  std::vector<std::size_t> side;
  for (std::size_t i = 0; i < 30; ++i) side.push_back(i * 3);
  c.PartitionAt(side, c.now(), seconds(20));
  c.RunFor(seconds(20));
  ASSERT_EQ(c.healed_at(), c.now());
  const auto& sides = c.sides_at_heal();
  EXPECT_EQ(sides[0].members, 70u);
  EXPECT_EQ(sides[0].majority, 70u);
  EXPECT_DOUBLE_EQ(sides[0].reach_min, 0.7);
  EXPECT_EQ(sides[1].members, 30u);
  EXPECT_EQ(sides[1].majority, 0u);
  EXPECT_DOUBLE_EQ(sides[1].reach_max, 0.3);
}

// A member held to 2 % of a core for a minute (a 2 ms slice every 100 ms) is slow, not
// dead: at 5 % loss, nobody is taken out, and it goes on heartbeating throughout.
TEST(ClusterSimulation, AStarvedMemberIsSlowNotDead) {
  ClusterSimulation c(Options(100, 0.05, 8));
  c.RunFor(seconds(120));
  const std::uint64_t before = c.traffic(17).datagrams_sent;
  c.StarveAt(17, c.now(), seconds(60), 0.02);
  c.RunFor(seconds(90));
  EXPECT_TRUE(c.ever_starved(17));
  EXPECT_FALSE(c.ever_frozen(17));
  // Stopped 98 ms of every 100 for 60 s, never long enough for the local-health guard.
  EXPECT_NEAR(std::chrono::duration<double>(c.stopped_time(17)).count(), 58.8, 0.1);
  EXPECT_EQ(c.stalls(17), 0u);
  EXPECT_TRUE(c.removals().empty());
  EXPECT_NEAR(static_cast<double>(c.traffic(17).datagrams_sent - before) / 90.0, 8.0, 1.0);
  EXPECT_EQ(c.unusable_datagrams(), 0u);
}

// The shell's local-health rule: a stop of 250 ms or more is a stall, a shorter one is not,
// and stops back to back or overlapping are one stop.
TEST(ClusterSimulation, OnlyStopsOfAQuarterSecondOrMoreAreStalls) {
  ClusterSimulation c(Options(20, 0.0, 9));
  c.RunFor(seconds(30));
  const MonoTime t = c.now();
  c.FreezeAt(1, t, milliseconds(300));
  c.FreezeAt(2, t, milliseconds(200));
  c.FreezeAt(3, t, milliseconds(200));
  c.FreezeAt(3, t + milliseconds(200), milliseconds(200));
  c.FreezeAt(4, t, milliseconds(200));
  c.FreezeAt(4, t + milliseconds(100), milliseconds(200));
  c.RunFor(seconds(5));
  EXPECT_EQ(c.stalls(1), 1u);
  EXPECT_EQ(c.stalls(2), 0u);
  EXPECT_EQ(c.stalls(3), 1u);
  EXPECT_EQ(c.stopped_time(3), milliseconds(400));
  EXPECT_EQ(c.stalls(4), 1u);
  EXPECT_EQ(c.stopped_time(4), milliseconds(300));
  EXPECT_EQ(c.stopped_time(2), milliseconds(200));
}

TEST(ClusterSimulation, EachSideOfAPartitionTakesTheOtherOut) {
  ClusterSimulation c(Options(80, 0.0, 7));
  c.RunFor(seconds(120));
  std::vector<std::size_t> side;
  for (std::size_t i = 0; i < 80; i += 2) side.push_back(i);
  c.PartitionAt(side, c.now(), std::chrono::minutes(10));
  c.RunFor(seconds(60));
  EXPECT_EQ(c.unusable_datagrams(), 0u);
  for (const auto& r : c.removals()) {
    EXPECT_TRUE(c.ever_apart(r.by, r.removed)) << r.by << " took out " << r.removed;
  }
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c.node(i).view().size(), 40u) << i;
    EXPECT_LE(c.node(i).cuts(), 2u) << i;
  }
}

TEST(ClusterSimulation, ConcurrentCrashesLeaveInFewCuts) {
  ClusterSimulation c(Options(120, 0.0, 3));
  c.RunFor(seconds(60));
  const std::vector<std::size_t> crashed = {3, 20, 41, 57, 64, 88, 101, 119};
  for (std::size_t i : crashed) c.Crash(i);
  c.RunFor(seconds(40));
  for (std::size_t i : crashed) EXPECT_EQ(TakenOutBy(c, i).size(), 112u) << i;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c.crashed(i)) continue;
    EXPECT_EQ(c.node(i).view().size(), 112u);
    EXPECT_LE(c.node(i).cuts(), 2u) << i;
  }
  EXPECT_EQ(c.unusable_datagrams(), 0u);
}

// A mass failure side by side, with and without gathering what members pass on
// (pass_on_gather): the same removals, a few hops of 20 ms later at most, in far fewer
// datagrams.
TEST(ClusterSimulation, AMassCrashIsPassedOnInFewerFullerDatagrams) {
  struct Outcome {
    std::uint64_t datagrams = 0;  // sent by the live members in the 5 s from the crash
    Duration slowest{};           // crash -> removal
    std::size_t removals = 0;
  };
  auto run = [](Duration gather) {
    ClusterOptions o = Options(120, 0.0, 5);
    o.member.pass_on_gather = gather;
    ClusterSimulation c(o);
    c.RunFor(seconds(60));
    std::vector<std::uint64_t> before;
    for (std::size_t i = 0; i < c.size(); ++i) before.push_back(c.traffic(i).datagrams_sent);
    const MonoTime crash = c.now();
    for (std::size_t i = 0; i < 12; ++i) c.Crash(i * 10);
    c.RunFor(seconds(5));  // the burst of reports, all within it
    Outcome out;
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (!c.crashed(i)) out.datagrams += c.traffic(i).datagrams_sent - before[i];
    }
    c.RunFor(seconds(15));
    for (const auto& r : c.removals()) {
      out.slowest = std::max(out.slowest, r.at - crash);
      ++out.removals;
    }
    return out;
  };
  const Outcome at_once = run(Duration::zero());
  const Outcome gathered = run(membership::MembershipOptions{}.pass_on_gather);
  EXPECT_EQ(at_once.removals, 12u * 108u);
  EXPECT_EQ(gathered.removals, at_once.removals);
  EXPECT_LE(gathered.slowest, at_once.slowest + milliseconds(200));
  // Heartbeats (8 a second per member, 4,320 in all) are the same in both: the gossip shrank.
  EXPECT_LT(3 * gathered.datagrams, at_once.datagrams)
      << gathered.datagrams << " against " << at_once.datagrams;
}

TEST(ClusterSimulation, EachMemberSendsAboutKHeartbeatsPerInterval) {
  ClusterSimulation c(Options(200, 0.0, 4));
  c.RunFor(seconds(30));
  for (std::size_t i = 0; i < c.size(); ++i) {
    const double per_second = static_cast<double>(c.traffic(i).datagrams_sent) / 30.0;
    EXPECT_NEAR(per_second, 8.0, 0.5) << i;
    const double received = static_cast<double>(c.traffic(i).datagrams_received) / 30.0;
    EXPECT_GE(received, 6.0) << i;
    EXPECT_LE(received, 11.0) << i;
  }
}

TEST(ClusterSimulation, SameSeedSameRun) {
  auto run = [](std::uint64_t seed) {
    ClusterSimulation c(Options(40, 0.1, seed));
    c.RunFor(seconds(30));
    c.Crash(5);
    c.Crash(6);
    c.RunFor(seconds(30));
    std::vector<std::tuple<std::size_t, std::size_t, MonoTime>> out;
    for (const auto& r : c.removals()) out.emplace_back(r.by, r.removed, r.at);
    return std::make_pair(out, c.traffic(0).bytes_received);
  };
  EXPECT_EQ(run(9), run(9));
  EXPECT_NE(run(9).second, run(10).second);
}

}  // namespace
}  // namespace vigil::sim
