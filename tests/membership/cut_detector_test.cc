// Verdicts by agreement (docs/membership.md, "Verdicts"): H of K, batching by the L/H
// watermarks, the implicit rule, refutation, expiry, small clusters.
#include "membership/cut_detector.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::membership {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Outcome = CutDetector::ReportOutcome;

const MonoTime kT0 = MonoTime{} + seconds(100);

// The defaults but for `settle`, so that a cut is ready the moment it is stable.
CutOptions NoSettle() {
  CutOptions o;
  o.settle = Duration::zero();
  return o;
}

ObserverGraph Cluster(std::size_t n, int k = 8) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) ids.push_back("n" + std::to_string(i));
  return ObserverGraph::Build(ids, k);
}

// Reports `subject` from its observers at slots [from, to).
void ReportFrom(CutDetector& cut, const ObserverGraph& g, MemberIndex subject, int from, int to,
                MonoTime at) {
  for (int slot = from; slot < to; ++slot) {
    ASSERT_EQ(cut.Report(subject, g.ObserversOf(subject)[slot], at), Outcome::kCounted);
  }
}

// A member that none of `others`' observers is and that watches none of them, so that tests
// of batching are not mixed with the implicit rule.
MemberIndex Unrelated(const ObserverGraph& g, MemberIndex s) {
  for (MemberIndex t = 0; t < g.size(); ++t) {
    if (t == s || g.ObserverSlot(s, t) >= 0 || g.ObserverSlot(t, s) >= 0) continue;
    bool shares = false;
    for (MemberIndex o : g.ObserversOf(t)) shares |= g.ObserverSlot(s, o) >= 0;
    if (!shares) return t;
  }
  ADD_FAILURE() << "no unrelated member";
  return 0;
}

TEST(CutDetector, TakesASubjectOutAtHReportsAndNotBefore) {
  const auto g = Cluster(100);
  CutDetector cut(g, NoSettle());
  EXPECT_EQ(cut.high(), 5);
  EXPECT_EQ(cut.low(), 2);
  ReportFrom(cut, g, 3, 0, 4, kT0);
  EXPECT_EQ(cut.unstable_count(), 1u);
  EXPECT_TRUE(cut.TakeCut(kT0 + seconds(1)).empty());
  EXPECT_EQ(cut.NextDeadline(), kT0 + CutOptions{}.report_lifetime);
  ReportFrom(cut, g, 3, 4, 5, kT0 + seconds(1));
  EXPECT_EQ(cut.EffectiveReports(3), 5);
  EXPECT_LE(cut.NextDeadline(), kT0 + seconds(1));  // ready now
  EXPECT_EQ(cut.TakeCut(kT0 + seconds(1)), std::vector<MemberIndex>{3});
  EXPECT_TRUE(cut.TakeCut(kT0 + seconds(2)).empty());
  EXPECT_EQ(cut.Report(3, g.ObserversOf(3)[5], kT0 + seconds(2)), Outcome::kTaken);
}

TEST(CutDetector, IgnoresReportersThatDoNotWatchTheSubjectAndCountsEachObserverOnce) {
  const auto g = Cluster(100);
  CutDetector cut(g, NoSettle());
  MemberIndex stranger = 0;
  while (stranger == 7 || g.ObserverSlot(7, stranger) >= 0) ++stranger;
  EXPECT_EQ(cut.Report(7, stranger, kT0), Outcome::kNotAnObserver);
  EXPECT_EQ(cut.Report(7, 7, kT0), Outcome::kNotAnObserver);
  const MemberIndex o = g.ObserversOf(7)[0];
  EXPECT_EQ(cut.Report(7, o, kT0), Outcome::kCounted);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(cut.Report(7, o, kT0), Outcome::kRenewed);
  EXPECT_EQ(cut.ExplicitReports(7), 1);
  EXPECT_TRUE(cut.TakeCut(kT0).empty());
}

TEST(CutDetector, ConcurrentFailuresLeaveTogether) {
  const auto g = Cluster(200);
  CutDetector cut(g, NoSettle());
  const MemberIndex a = 10, b = Unrelated(g, a);
  ReportFrom(cut, g, a, 0, 5, kT0);               // a stable
  ReportFrom(cut, g, b, 0, 2, kT0 + milliseconds(100));  // b in progress
  EXPECT_TRUE(cut.TakeCut(kT0 + milliseconds(200)).empty());
  ReportFrom(cut, g, b, 2, 5, kT0 + milliseconds(300));
  const std::vector<MemberIndex> both = a < b ? std::vector{a, b} : std::vector{b, a};
  EXPECT_EQ(cut.TakeCut(kT0 + milliseconds(300)), both);
}

// Failures detected a little apart leave together: the cut waits until nothing has become
// unstable or stable for `settle`.
TEST(CutDetector, ACutWaitsForFailuresToSettle) {
  const auto g = Cluster(200);
  CutOptions options;
  options.settle = seconds(1);
  CutDetector cut(g, options);
  const MemberIndex a = 10, b = Unrelated(g, a);
  ReportFrom(cut, g, a, 0, 5, kT0);
  EXPECT_EQ(cut.NextDeadline(), kT0 + seconds(1));
  EXPECT_TRUE(cut.TakeCut(kT0 + milliseconds(500)).empty());
  ReportFrom(cut, g, b, 0, 5, kT0 + milliseconds(900));  // b stable later: settling again
  EXPECT_TRUE(cut.TakeCut(kT0 + milliseconds(1500)).empty());
  const std::vector<MemberIndex> both = a < b ? std::vector{a, b} : std::vector{b, a};
  EXPECT_EQ(cut.TakeCut(kT0 + milliseconds(1900)), both);

  // A single failure is taken out `settle` after it became stable.
  CutDetector alone(g, options);
  ReportFrom(alone, g, a, 0, 5, kT0);
  EXPECT_TRUE(alone.TakeCut(kT0 + milliseconds(999)).empty());
  EXPECT_EQ(alone.TakeCut(kT0 + seconds(1)), std::vector<MemberIndex>{a});
}

// Failures that keep coming do not hold a stable one back for ever.
TEST(CutDetector, SettlingEndsAtMaxHold) {
  const auto g = Cluster(400);
  CutOptions options;
  options.settle = seconds(1);
  options.max_hold = seconds(2);
  CutDetector cut(g, options);
  ReportFrom(cut, g, 10, 0, 5, kT0);
  std::vector<MemberIndex> later;  // stable at 0.6, 1.2 and 1.8 s
  for (MemberIndex s = 11; later.size() < 3; ++s) {
    if (g.ObserverSlot(s, 10) >= 0 || g.ObserverSlot(10, s) >= 0) continue;
    ReportFrom(cut, g, s, 0, 5, kT0 + milliseconds(600) * static_cast<int>(later.size() + 1));
    later.push_back(s);
  }
  // Each arrival restarts the settling, but the first has waited max_hold at kT0 + 2 s.
  EXPECT_TRUE(cut.TakeCut(kT0 + milliseconds(1999)).empty());
  EXPECT_EQ(cut.TakeCut(kT0 + seconds(2)).size(), 4u);
}

TEST(CutDetector, StableSubjectsGoWithoutTheUnsettledAfterMaxHold) {
  const auto g = Cluster(200);
  CutOptions options;  // settle too: it does not matter while something is unstable
  options.max_hold = seconds(2);
  CutDetector cut(g, options);
  const MemberIndex a = 10, b = Unrelated(g, a);
  ReportFrom(cut, g, a, 0, 5, kT0);
  ReportFrom(cut, g, b, 0, 3, kT0);
  EXPECT_EQ(cut.NextDeadline(), kT0 + seconds(2));
  EXPECT_TRUE(cut.TakeCut(kT0 + milliseconds(1999)).empty());
  EXPECT_EQ(cut.TakeCut(kT0 + seconds(2)), std::vector<MemberIndex>{a});
  EXPECT_EQ(cut.ExplicitReports(b), 3);
  EXPECT_EQ(cut.unstable_count(), 1u);
}

// A subject that fails with four of its eight observers: the four live ones report it, and
// the four dead ones are reported by their own observers, so they count for it.
TEST(CutDetector, ObserversThatFailTooCountImplicitly) {
  const auto g = Cluster(300);
  CutDetector cut(g, NoSettle());
  const MemberIndex s = 42;
  const auto observers = g.ObserversOf(s);
  ReportFrom(cut, g, s, 4, 8, kT0);  // the live half: 4 < H
  EXPECT_EQ(cut.EffectiveReports(s), 4);
  EXPECT_TRUE(cut.TakeCut(kT0).empty());
  for (int dead = 0; dead < 4; ++dead) {
    const MemberIndex o = observers[dead];
    int reported = 0;
    for (MemberIndex watcher : g.ObserversOf(o)) {
      if (watcher == s || g.ObserverSlot(s, watcher) >= 0) continue;  // keep it simple
      ASSERT_NE(cut.Report(o, watcher, kT0 + seconds(1)), Outcome::kNotAnObserver);
      if (++reported == 5) break;
    }
    ASSERT_EQ(reported, 5);
  }
  EXPECT_EQ(cut.EffectiveReports(s), 8);
  const auto taken = cut.TakeCut(kT0 + seconds(1));
  EXPECT_EQ(taken.size(), 5u);
  EXPECT_TRUE(std::find(taken.begin(), taken.end(), s) != taken.end());
}

TEST(CutDetector, ALoneReportDoesNotMakeOthersCountImplicitly) {
  const auto g = Cluster(300);
  CutDetector cut(g, NoSettle());
  const MemberIndex s = 42;
  const MemberIndex o = g.ObserversOf(s)[0];
  ReportFrom(cut, g, s, 1, 5, kT0);  // 4 explicit
  ASSERT_NE(cut.Report(o, g.ObserversOf(o)[0] == s ? g.ObserversOf(o)[1] : g.ObserversOf(o)[0],
                       kT0),
            Outcome::kNotAnObserver);  // o has one report: below L, not "reported"
  EXPECT_EQ(cut.EffectiveReports(s), 4);
  EXPECT_TRUE(cut.TakeCut(kT0).empty());
}

TEST(CutDetector, AWithdrawnSubjectNoLongerHoldsTheCut) {
  const auto g = Cluster(200);
  CutDetector cut(g, NoSettle());
  const MemberIndex a = 10, b = Unrelated(g, a);
  ReportFrom(cut, g, a, 0, 5, kT0);
  ReportFrom(cut, g, b, 0, 4, kT0);
  EXPECT_TRUE(cut.TakeCut(kT0).empty());
  cut.Withdraw(b);  // b refuted: it is alive
  EXPECT_EQ(cut.ExplicitReports(b), 0);
  EXPECT_EQ(cut.unstable_count(), 0u);
  EXPECT_EQ(cut.TakeCut(kT0 + milliseconds(1)), std::vector<MemberIndex>{a});
}

TEST(CutDetector, StrayReportsExpireInsteadOfAddingUpOverTime) {
  const auto g = Cluster(100);
  CutOptions options;
  options.report_lifetime = seconds(30);
  CutDetector cut(g, options);
  const MemberIndex s = 5;
  // One stray report every 20 s from a different observer: never more than two alive.
  for (int slot = 0; slot < 8; ++slot) {
    const MonoTime at = kT0 + seconds(20 * slot);
    cut.Expire(at);
    ASSERT_EQ(cut.Report(s, g.ObserversOf(s)[slot], at), Outcome::kCounted);
    EXPECT_LE(cut.ExplicitReports(s), 2);
    EXPECT_TRUE(cut.TakeCut(at).empty());
  }
  cut.Expire(kT0 + seconds(20 * 7 + 30));
  EXPECT_EQ(cut.ExplicitReports(s), 0);
  EXPECT_EQ(cut.NextDeadline(), kNever);
}

TEST(CutDetector, ARenewedReportLivesOn) {
  const auto g = Cluster(100);
  CutDetector cut(g, NoSettle());
  const MemberIndex o = g.ObserversOf(5)[0];
  cut.Report(5, o, kT0);  // lives 10 s
  EXPECT_EQ(cut.Report(5, o, kT0 + seconds(8)), Outcome::kRenewed);
  cut.Expire(kT0 + seconds(15));
  EXPECT_EQ(cut.ExplicitReports(5), 1);
  cut.Expire(kT0 + seconds(18));
  EXPECT_EQ(cut.ExplicitReports(5), 0);
  // Once run out, the same observer's report is a new one, not a renewal.
  EXPECT_EQ(cut.Report(5, o, kT0 + seconds(40)), Outcome::kCounted);
}

TEST(CutDetector, ASmallClusterNeedsEveryObserver) {
  const auto g = Cluster(3);
  CutDetector cut(g, NoSettle());
  EXPECT_EQ(cut.high(), 2);
  EXPECT_EQ(cut.low(), 2);
  const auto observers = g.ObserversOf(0);
  ASSERT_EQ(observers.size(), 2u);
  cut.Report(0, observers[0], kT0);
  EXPECT_TRUE(cut.TakeCut(kT0).empty());
  cut.Report(0, observers[1], kT0);
  EXPECT_EQ(cut.TakeCut(kT0), std::vector<MemberIndex>{0});

  const auto pair = Cluster(2);
  CutDetector two(pair, NoSettle());
  EXPECT_EQ(two.high(), 1);
  two.Report(1, 0, kT0);
  EXPECT_EQ(two.TakeCut(kT0), std::vector<MemberIndex>{1});
}

}  // namespace
}  // namespace vigil::membership
