// Joining in simulated time (docs/membership.md, "Joining"): a cold start of members that
// know only three seeds ends with every member in every view and nobody taken out; members
// join a running cluster; a crashed member restarts and is back everywhere (what was sent to
// its previous run refused); a member whose
// seeds are not up yet waits for them; a cold start under 10 % loss converges too. Small and
// fast: the figures at 1,000 to 10,000 come from vigil-sim (docs/benchmarks.md).
#include <gtest/gtest.h>

#include <random>

#include "sim/cluster_simulation.h"

namespace vigil::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ClusterOptions Options(std::size_t nodes, std::size_t unstarted, double loss) {
  ClusterOptions o;
  o.nodes = nodes;
  o.unstarted = unstarted;
  o.loss = loss;
  o.seed = 7;
  return o;
}

// Starts nodes first .. size-1 at times uniform over `spread` from now.
void StartSpread(ClusterSimulation& c, std::size_t first, Duration spread) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<Duration::rep> at(0, spread.count());
  for (std::size_t i = first; i < c.size(); ++i) c.StartAt(i, c.now() + Duration(at(rng)));
}

// How many running members lack `member` in their view (itself aside).
std::size_t MissingFrom(const ClusterSimulation& c, std::size_t member) {
  std::size_t missing = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i == member || c.crashed(i)) continue;
    missing += c.node(i).view().Find(ClusterSimulation::IdOf(member)) ? 0 : 1;
  }
  return missing;
}

// Every running member's view holds exactly the running members.
void ExpectFullViews(const ClusterSimulation& c, std::size_t running) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c.crashed(i)) continue;
    EXPECT_EQ(c.node(i).view().size(), running) << ClusterSimulation::IdOf(i);
    EXPECT_FALSE(c.node(i).syncing()) << i;
  }
}

TEST(ClusterJoin, AColdStartFromThreeSeedsEndsWithEveryMemberEverywhere) {
  ClusterSimulation c(Options(80, 80, 0.0));
  c.WatchViews(80, milliseconds(100));
  StartSpread(c, 0, seconds(5));
  c.RunFor(seconds(40));
  ExpectFullViews(c, 80);
  EXPECT_TRUE(c.removals().empty());
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_NE(c.view_full_at(i), kNever) << i;
    EXPECT_GT(c.node(i).subject_count(), 0u) << i;  // it watches
  }
  EXPECT_EQ(c.unusable_datagrams(), 0u);
  // The cluster it formed detects: a member crashed is taken out by all the others.
  c.Crash(40);
  c.RunFor(seconds(30));
  EXPECT_EQ(MissingFrom(c, 40), 79u);
  for (const auto& r : c.removals()) EXPECT_EQ(r.removed, 40u);
}

TEST(ClusterJoin, MembersJoinARunningClusterAndAreWatched) {
  ClusterSimulation c(Options(105, 5, 0.0));
  c.RunFor(seconds(30));
  StartSpread(c, 100, seconds(2));
  c.RunFor(seconds(30));
  ExpectFullViews(c, 105);
  EXPECT_TRUE(c.removals().empty());
  for (std::size_t j = 100; j < 105; ++j) {
    EXPECT_TRUE(c.node(j).welcomed());
    EXPECT_EQ(MissingFrom(c, j), 0u);
  }
  // Watched by its observers: a joiner that crashes is taken out everywhere.
  c.Crash(103);
  c.RunFor(seconds(30));
  EXPECT_EQ(MissingFrom(c, 103), 104u);
}

TEST(ClusterJoin, ACrashedMemberThatRestartsIsBackEverywhere) {
  ClusterSimulation c(Options(60, 0, 0.0));
  c.RunFor(seconds(20));
  c.Crash(9);
  c.RunFor(seconds(30));
  ASSERT_EQ(MissingFrom(c, 9), 59u);
  const MonoTime restart = c.now();
  c.StartAt(9, restart);
  c.RunFor(seconds(20));
  EXPECT_FALSE(c.crashed(9));
  EXPECT_EQ(MissingFrom(c, 9), 0u);
  ExpectFullViews(c, 60);
  // The clock's microseconds (plus 1) at the restart, or more if it refuted since.
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(restart - MonoTime{});
  EXPECT_GE(c.node(9).incarnation(), static_cast<std::uint64_t>(micros.count()) + 1);
  for (const auto& r : c.removals()) EXPECT_EQ(r.removed, 9u);  // nobody else, ever
  // Restarted twice (the second time before anyone took it out): still one member.
  c.Crash(9);
  c.RunFor(milliseconds(500));
  c.StartAt(9, c.now());
  c.RunFor(seconds(30));
  ExpectFullViews(c, 60);
  // Members that knew its previous run went on echoing it (docs/membership.md, "Replays"):
  // refused, and answered; one answer teaches a sender (a lossless network here), and
  // nothing is ever refused as seen before (nobody replays, and nothing is reordered by 64).
  using membership::Freshness;
  using membership::Stream;
  EXPECT_GT(c.node(9).refused(Stream::kGossip, Freshness::kUnconfirmed) +
                c.node(9).refused(Stream::kHeartbeat, Freshness::kUnconfirmed),
            0u);
  EXPECT_GT(c.node(9).unconfirmed_answered(), 0u);
  EXPECT_LE(c.node(9).unconfirmed_answered(), 59u);
  for (std::size_t i = 0; i < c.size(); ++i) {
    for (const auto stream : {Stream::kGossip, Stream::kHeartbeat}) {
      EXPECT_EQ(c.node(i).refused(stream, Freshness::kOldSequence), 0u) << i;
    }
  }
}

TEST(ClusterJoin, AMemberWhoseSeedsAreNotUpYetJoinsWhenTheyAre) {
  ClusterSimulation c(Options(30, 30, 0.0));
  for (std::size_t i = 3; i < 30; ++i) c.StartAt(i, c.now());  // all but the seeds
  c.RunFor(seconds(10));
  for (std::size_t i = 3; i < 30; ++i) {
    EXPECT_FALSE(c.node(i).welcomed()) << i;
    EXPECT_EQ(c.node(i).view().size(), 1u) << i;  // alone, still asking
  }
  for (std::size_t i = 0; i < 3; ++i) c.StartAt(i, c.now());
  c.RunFor(seconds(40));
  ExpectFullViews(c, 30);
  EXPECT_TRUE(c.removals().empty());
}

TEST(ClusterJoin, AColdStartConvergesUnderTenPercentLoss) {
  ClusterSimulation c(Options(60, 60, 0.10));
  StartSpread(c, 0, seconds(5));
  c.RunFor(seconds(60));
  ExpectFullViews(c, 60);
  EXPECT_TRUE(c.removals().empty());
}

}  // namespace
}  // namespace vigil::sim
