// Corroboration (docs/membership.md, "Corroboration"): an observer that holds another
// observer's report of its subject convicts it on less silence than alone, never before a
// heartbeat is a whole interval overdue, and not once the report is voided or stale. Each
// test runs two nodes side by side on the same heartbeats, one given the report, and
// compares when each convicts.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "membership/membership_node.h"

namespace vigil::membership {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const MonoTime kT0 = MonoTime{} + seconds(1000);
const Duration kInterval = MembershipOptions{}.interval;
const MonoTime kSilentFrom = kT0 + seconds(301);  // after seq 301 (a multiple of 5 is lost)
const MonoTime kEnd = kT0 + seconds(320);
const auto kNothing = [](MembershipNode&, MonoTime, Outbox&) {};

class CorroborationTest : public ::testing::Test {
 protected:
  CorroborationTest() {
    std::vector<std::string> ids;
    for (int i = 0; i < 40; ++i) ids.push_back("m" + std::to_string(i));
    graph_ = std::make_shared<const ObserverGraph>(ObserverGraph::Build(ids, 8));
    const auto subjects = graph_->SubjectsOf(*graph_->Find(kSelf));
    dead_ = graph_->id(subjects[0]);
    for (MemberIndex o : graph_->ObserversOf(*graph_->Find(dead_))) {
      if (graph_->id(o) != kSelf) others_.push_back(graph_->id(o));
    }
    other_observer_ = others_[0];
  }

  std::unique_ptr<MembershipNode> Make(double corroborated_level = 0.5,
                                       Duration report_lifetime = seconds(10)) {
    MembershipOptions o;
    o.self = kSelf;
    o.corroborated_level = corroborated_level;
    o.cut.report_lifetime = report_lifetime;
    o.report_repeat = std::min(o.report_repeat, report_lifetime / 2);
    return std::make_unique<MembershipNode>(o, graph_, source_, kT0);
  }

  // One heartbeat a second from every subject up to `until`; one in five lost (the numbers
  // go on), so that the detectors learn to tolerate losses and wait several intervals.
  // `dead_` falls silent from `silent_from` on.
  void Beat(MembershipNode& node, MonoTime t, MonoTime silent_from, Outbox& out) {
    const std::uint64_t seq = static_cast<std::uint64_t>((t - kT0) / kInterval) + 1;
    if ((t - kT0) % kInterval != Duration::zero() || seq % 5 == 0) return;
    for (MemberIndex s : graph_->SubjectsOf(*graph_->Find(kSelf))) {
      if (graph_->id(s) != dead_ || t < silent_from) {
        node.OnHeartbeat(graph_->id(s), 1, seq, t, out);
      }
    }
  }

  // Runs `node` from kT0, ticking every 10 ms until `end`; `at(node, t)` is called before
  // each step's heartbeats. Returns when this node first reported `dead_` (nullopt: never).
  template <typename At>
  std::optional<MonoTime> FirstReport(MembershipNode& node, MonoTime silent_from, MonoTime end,
                                      At at) {
    std::optional<MonoTime> first;
    for (MonoTime t = kT0; t <= end; t += milliseconds(10)) {
      Outbox out;
      at(node, t, out);
      Beat(node, t, silent_from, out);
      node.Tick(t, out);
      for (const auto& [to, gossip] : out.gossip) {
        for (const Report& r : gossip.reports) {
          if (r.observer == kSelf && r.subject == dead_ && !first) first = t;
        }
      }
    }
    return first;
  }

  // Reports of dead_ from L = 2 other observers: what corroborates.
  Gossip OthersReports() const {
    return Gossip{{Report{others_[0], dead_, 1, 1}, Report{others_[1], dead_, 1, 1}}, {}};
  }

  // When `node` first reports dead_, given OthersReports() at `report_at`.
  std::optional<MonoTime> Told(MembershipNode& node, MonoTime report_at) {
    return Delivered(node, {{report_at, OthersReports(), other_observer_}});
  }

  // When `node` first reports dead_, given each gossip at its time (from its sender).
  struct Delivery {
    MonoTime at;
    Gossip gossip;
    std::string from;
  };
  std::optional<MonoTime> Delivered(MembershipNode& node, const std::vector<Delivery>& plan) {
    return FirstReport(node, kSilentFrom, kEnd, [&](MembershipNode& n, MonoTime t, Outbox& out) {
      for (const Delivery& d : plan) {
        if (t == d.at) n.OnGossip(d.gossip, d.from, t, out);
      }
    });
  }

  // The control of the tests where something voids the reports: when a node convicts with
  // OthersReports() at kSilentFrom + 500 ms and nothing else, and when alone. Asserts that
  // the reports hasten it, so that "no sooner than alone" means what it says.
  std::pair<MonoTime, MonoTime> ControlAndAlone(double level = 0.5) {
    auto alone = Make(level);
    auto told = Make(level);
    const auto alone_at = FirstReport(*alone, kSilentFrom, kEnd, kNothing);
    const auto told_at = Told(*told, kSilentFrom + milliseconds(500));
    EXPECT_TRUE(alone_at && told_at && *told_at < *alone_at) << "the control is not sooner";
    return {told_at.value_or(kEnd), alone_at.value_or(kEnd)};
  }

  static constexpr const char* kSelf = "m5";
  std::shared_ptr<const ObserverGraph> graph_;
  GraphSource source_;
  std::string dead_;
  std::vector<std::string> others_;  // dead_'s observers but kSelf
  std::string other_observer_;
};

TEST_F(CorroborationTest, ACorroboratedObserverConvictsSoonerButNotBeforeAMissedHeartbeat) {
  auto alone = Make();
  auto told = Make();
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  const auto alone_at = FirstReport(*alone, kSilentFrom, kEnd, kNothing);
  const auto told_at = Told(*told, report_at);
  ASSERT_TRUE(alone_at && told_at);
  // The last heartbeat heard was at 300 s (seq 301 is silent): two intervals after it.
  const MonoTime last = kSilentFrom - kInterval;
  EXPECT_LT(*told_at, *alone_at) << "the report did not hasten the conviction";
  EXPECT_GE(*told_at, last + 2 * kInterval);
  EXPECT_EQ(told->convictions(), 1u);
  EXPECT_EQ(told->corroborated_convictions(), 1u);
  EXPECT_EQ(alone->convictions(), 1u);
  EXPECT_EQ(alone->corroborated_convictions(), 0u);
}

// However low the level asked, not before a heartbeat is a whole interval overdue: the last
// was heard at 300 s, so not before 302 s, though the report came at 301.5 s.
TEST_F(CorroborationTest, NeverBeforeAHeartbeatIsAWholeIntervalOverdue) {
  auto told = Make(0.01);
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  const auto told_at = Told(*told, report_at);
  ASSERT_TRUE(told_at);
  EXPECT_EQ(*told_at, kSilentFrom - kInterval + 2 * kInterval);
  EXPECT_EQ(told->corroborated_convictions(), 1u);
}

TEST_F(CorroborationTest, AtLevelOneTheReportChangesNothing) {
  auto alone = Make(1.0);
  auto told = Make(1.0);
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  const auto alone_at = FirstReport(*alone, kSilentFrom, kEnd, kNothing);
  const auto told_at = Told(*told, report_at);
  ASSERT_TRUE(alone_at && told_at);
  EXPECT_EQ(*told_at, *alone_at);
}

// The subject refuted the report (it is alive at a higher incarnation): no longer evidence.
TEST_F(CorroborationTest, ARefutationVoidsIt) {
  const auto [control_at, alone_at] = ControlAndAlone();
  auto told = Make();
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  const auto told_at =
      Delivered(*told, {{report_at, OthersReports(), other_observer_},
                        {report_at + milliseconds(50), Gossip{{}, {Alive{dead_, 2}}},
                         other_observer_}});
  ASSERT_TRUE(told_at);
  EXPECT_EQ(*told_at, alone_at);
}

// A report that comes once the observer's own silence would do waits corroboration_wait:
// the subject, told at the same time, would have refuted by then if it were alive.
TEST_F(CorroborationTest, ItWaitsForTheSubjectsRefutationFirst) {
  auto alone = Make();
  auto told = Make();
  const MonoTime report_at = kSilentFrom + seconds(2);  // 3 s after the last heartbeat
  const auto alone_at = FirstReport(*alone, kSilentFrom, kEnd, kNothing);
  const auto told_at = Told(*told, report_at);
  ASSERT_TRUE(alone_at && told_at);
  ASSERT_GT(*alone_at, report_at + MembershipOptions{}.corroboration_wait);
  EXPECT_EQ(*told_at, report_at + MembershipOptions{}.corroboration_wait);
}

// One other observer's report is not enough: it may be that observer's own mistake, and
// acting on it would turn every lone false conviction into a flood (benchmarks.md).
TEST_F(CorroborationTest, OneOtherObserversReportIsNotEnough) {
  const auto [control_at, alone_at] = ControlAndAlone();
  auto told = Make();
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  const auto told_at =
      Delivered(*told, {{report_at, Gossip{{Report{others_[0], dead_, 1, 1}}}, others_[0]}});
  ASSERT_TRUE(told_at);
  EXPECT_EQ(*told_at, alone_at);
}

// Driven only at its NextWakeup (as vigil-sim and vigild drive it), it convicts as soon as
// when ticked every 10 ms.
TEST_F(CorroborationTest, ItsNextWakeupIsTheCorroboratedDeadline) {
  auto ticked = Make();
  auto woken = Make();
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  const auto ticked_at = Told(*ticked, report_at);
  ASSERT_TRUE(ticked_at);
  // Heartbeats up to the silence every 10 ms as before; from the report on, only wakeups.
  std::optional<MonoTime> woken_at;
  for (MonoTime t = kT0; t < report_at; t += milliseconds(10)) {
    Outbox out;
    Beat(*woken, t, kSilentFrom, out);
    woken->Tick(t, out);
  }
  Outbox out;
  woken->OnGossip(OthersReports(), other_observer_, report_at, out);
  for (MonoTime t = report_at; !woken_at && t <= kEnd;) {
    t = std::max(t + std::chrono::microseconds(1), woken->NextWakeup());
    out.clear();
    woken->Tick(t, out);
    for (const auto& [to, gossip] : out.gossip) {
      for (const Report& r : gossip.reports) {
        if (r.observer == kSelf && r.subject == dead_) woken_at = t;
      }
    }
  }
  ASSERT_TRUE(woken_at);
  EXPECT_LE(*woken_at, *ticked_at);
  EXPECT_GT(*woken_at, *ticked_at - milliseconds(10));
  EXPECT_EQ(woken->corroborated_convictions(), 1u);
}

// Reports count for report_lifetime from when they came: once they are stale, the observer
// waits for its own evidence. Measured against the same reports with a lifetime long enough.
TEST_F(CorroborationTest, StaleReportsCorroborateNothing) {
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  const auto with_reports = [&](MembershipNode& n, MonoTime t, Outbox& out) {
    if (t == report_at) n.OnGossip(OthersReports(), other_observer_, t, out);
  };
  auto alone = Make(0.95);
  auto lasting = Make(0.95);
  const auto alone_at = FirstReport(*alone, kSilentFrom, kEnd, kNothing);
  const auto lasting_at = FirstReport(*lasting, kSilentFrom, kEnd, with_reports);
  ASSERT_TRUE(alone_at && lasting_at);
  ASSERT_LT(*lasting_at, *alone_at) << "no sooner even while the reports live";
  // The same reports, stale 10 ms before they would have corroborated.
  auto expiring = Make(0.95, *lasting_at - report_at - milliseconds(10));
  const auto expiring_at = FirstReport(*expiring, kSilentFrom, kEnd, with_reports);
  ASSERT_TRUE(expiring_at);
  EXPECT_EQ(*expiring_at, *alone_at);
  EXPECT_EQ(expiring->corroborated_convictions(), 0u);
}

// A report that came before the last heartbeat this node heard saw a silence that heartbeat
// broke: with one more report after it, that is one, not L = 2.
TEST_F(CorroborationTest, AReportFromBeforeTheLastHeartbeatCountsNoMore) {
  const auto [control_at, alone_at] = ControlAndAlone();
  auto told = Make();
  const MonoTime early_at = kSilentFrom - milliseconds(1500);  // before the one at 300 s
  const MonoTime late_at = kSilentFrom + milliseconds(500);
  const auto told_at =
      Delivered(*told, {{early_at, Gossip{{Report{others_[0], dead_, 1, 1}}}, others_[0]},
                        {late_at, Gossip{{Report{others_[1], dead_, 1, 1}}}, others_[1]}});
  ASSERT_TRUE(told_at);
  EXPECT_EQ(*told_at, alone_at);
}

// Only another of the subject's observers corroborates: a member that does not watch it
// has no evidence of its own to give, so one observer and a stranger are not L = 2.
TEST_F(CorroborationTest, AReportFromANonObserverCorroboratesNothing) {
  std::string stranger;
  const auto observers = graph_->ObserversOf(*graph_->Find(dead_));
  for (int i = 0; i < 40 && stranger.empty(); ++i) {
    const std::string id = "m" + std::to_string(i);
    const MemberIndex m = *graph_->Find(id);
    if (id != dead_ && std::find(observers.begin(), observers.end(), m) == observers.end()) {
      stranger = id;
    }
  }
  ASSERT_FALSE(stranger.empty());
  const auto [control_at, alone_at] = ControlAndAlone();
  auto told = Make();
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  const auto told_at =
      Delivered(*told, {{report_at,
                         Gossip{{Report{others_[0], dead_, 1, 1}, Report{stranger, dead_, 1, 1}}},
                         stranger}});
  ASSERT_TRUE(told_at);
  EXPECT_EQ(*told_at, alone_at);
}

// The two observers that reported are taken out (H of their own observers agree) before
// the reports would corroborate: reports of members no longer in the view count no more.
TEST_F(CorroborationTest, ReportsOfMembersTakenOutCountNoMore) {
  const auto [control_at, alone_at] = ControlAndAlone(0.95);
  auto told = Make(0.95);
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  // H = 5 reports of each reporter, from its own observers but this node.
  Gossip against;
  for (int i = 0; i < 2; ++i) {
    int reports = 0;
    for (MemberIndex o : graph_->ObserversOf(*graph_->Find(others_[i]))) {
      if (graph_->id(o) == kSelf || reports == 5) continue;
      against.reports.push_back(Report{graph_->id(o), others_[i], 1, 1});
      ++reports;
    }
  }
  const auto told_at =
      Delivered(*told, {{report_at, OthersReports(), other_observer_},
                        {report_at + milliseconds(10), against, other_observer_}});
  ASSERT_FALSE(told->view().Find(others_[0]) || told->view().Find(others_[1]))
      << "the reporters were not taken out";
  ASSERT_EQ(told->cuts(), 1u);
  ASSERT_TRUE(told_at);
  const auto still = told->view().ObserversOf(*told->view().Find(dead_));
  ASSERT_NE(std::find(still.begin(), still.end(), *told->view().Find(kSelf)), still.end())
      << "this node no longer watches " << dead_;
  EXPECT_EQ(*told_at, alone_at);
  EXPECT_EQ(told->corroborated_convictions(), 0u);
}

// A deadline missed (the tick came after the reports went stale: a late timer, a stall) is
// not woken for again: the next wakeup is always later than the tick just made.
TEST_F(CorroborationTest, AMissedDeadlineIsNotWokenForAgain) {
  const auto [control_at, alone_at] = ControlAndAlone(0.95);
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  // Reports stale 10 ms after the control convicted; the next tick 20 ms after it.
  auto late = Make(0.95, control_at - report_at + milliseconds(10));
  const MonoTime tick_at = control_at + milliseconds(20);
  ASSERT_LT(tick_at, alone_at);
  for (MonoTime t = kT0; t <= tick_at; t += milliseconds(10)) {
    Outbox out;
    if (t == report_at) late->OnGossip(OthersReports(), other_observer_, t, out);
    Beat(*late, t, kSilentFrom, out);
    if (t <= report_at || t == tick_at) late->Tick(t, out);  // no tick in between
  }
  EXPECT_GT(late->NextWakeup(), tick_at);
  EXPECT_EQ(late->convictions(), 0u);
}

// Convicted on corroboration, then heard (the silence was losses): it is no longer
// convicted, so its report is not repeated every report_repeat.
TEST_F(CorroborationTest, AHeartbeatAfterACorroboratedConvictionEndsIt) {
  auto told = Make();
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  const MonoTime back_at = kSilentFrom + seconds(2);  // heard again (seq 304)
  std::set<std::uint32_t> rounds;  // a report repeated is a new round
  for (MonoTime t = kT0; t <= kSilentFrom + seconds(30); t += milliseconds(10)) {
    Outbox out;
    if (t == report_at) told->OnGossip(OthersReports(), other_observer_, t, out);
    Beat(*told, t, t < back_at ? kSilentFrom : kEnd + seconds(100), out);
    told->Tick(t, out);
    for (const auto& [to, gossip] : out.gossip) {
      for (const Report& r : gossip.reports) {
        if (r.observer == kSelf && r.subject == dead_) rounds.insert(r.round);
      }
    }
    if (t == back_at - milliseconds(10)) {
      ASSERT_EQ(rounds.size(), 1u) << "not convicted before it was heard again";
      ASSERT_EQ(told->corroborated_convictions(), 1u);
    }
  }
  EXPECT_EQ(rounds.size(), 1u) << "the report was repeated after the subject was heard";
  EXPECT_EQ(told->convictions(), 1u);
}

// Convicted on corroboration, then the subject refutes (alive at a higher incarnation; its
// heartbeats still lost): the conviction ends, and the observer's detector alone decides.
// Still convicted, it would not count its own detector's conviction as a new one.
TEST_F(CorroborationTest, ARefutationEndsACorroboratedConviction) {
  auto alone = Make();
  const auto alone_at = FirstReport(*alone, kSilentFrom, kEnd, kNothing);
  auto told = Make();
  const MonoTime report_at = kSilentFrom + milliseconds(500);
  std::optional<MonoTime> convicted_at;
  std::vector<MonoTime> sent;  // when each round was first sent (then passed on, repeated)
  std::uint32_t round = 0;
  for (MonoTime t = kT0; t <= kEnd; t += milliseconds(10)) {
    Outbox out;
    if (t == report_at) told->OnGossip(OthersReports(), other_observer_, t, out);
    if (convicted_at && t == *convicted_at + milliseconds(10)) {
      told->OnGossip(Gossip{{}, {Alive{dead_, 2}}}, other_observer_, t, out);
    }
    Beat(*told, t, kSilentFrom, out);
    told->Tick(t, out);
    for (const auto& [to, gossip] : out.gossip) {
      for (const Report& r : gossip.reports) {
        if (r.observer != kSelf || r.subject != dead_ || r.round <= round) continue;
        round = r.round;
        sent.push_back(t);
      }
    }
    if (!sent.empty() && !convicted_at) convicted_at = sent.front();
  }
  ASSERT_TRUE(alone_at && convicted_at);
  ASSERT_LT(*convicted_at, *alone_at);
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent[1], *alone_at);
  EXPECT_EQ(told->convictions(), 2u);
  EXPECT_EQ(told->corroborated_convictions(), 1u);
}

// A heartbeat its detector refuses (of an older incarnation than it knows: a late datagram
// from before a refutation) breaks no silence, and ends no conviction.
TEST_F(CorroborationTest, AStaleHeartbeatDoesNotEndACorroboratedConviction) {
  auto told = Make();
  std::optional<MonoTime> alone_at;      // convicted at incarnation 1 by its detector
  std::optional<MonoTime> refuted_at;    // then alive at 2 (its detector starts over)
  std::optional<MonoTime> corroborated;  // then convicted at 2 on two others' reports
  for (MonoTime t = kT0; t <= kEnd + seconds(30); t += milliseconds(10)) {
    Outbox out;
    if (alone_at && t == *alone_at + seconds(1)) {
      refuted_at = t;
      told->OnGossip(Gossip{{}, {Alive{dead_, 2}}}, other_observer_, t, out);
    }
    if (refuted_at && t == *refuted_at + milliseconds(500)) {
      const Gossip reports{{Report{others_[0], dead_, 2, 1}, Report{others_[1], dead_, 2, 1}}};
      told->OnGossip(reports, other_observer_, t, out);
    }
    if (corroborated && t == *corroborated + milliseconds(10)) {
      told->OnHeartbeat(dead_, 1, 10'000, t, out);
    }
    Beat(*told, t, kSilentFrom, out);
    told->Tick(t, out);
    for (const auto& [to, gossip] : out.gossip) {
      for (const Report& r : gossip.reports) {
        if (r.observer != kSelf || r.subject != dead_) continue;
        if (!alone_at) alone_at = t;
        if (refuted_at && !corroborated) corroborated = t;
      }
    }
  }
  ASSERT_TRUE(alone_at && refuted_at && corroborated);
  EXPECT_EQ(told->corroborated_convictions(), 1u);
  // Still convicted: its detector's own conviction later is not a new one.
  EXPECT_EQ(told->convictions(), 2u);
}

}  // namespace
}  // namespace vigil::membership
