// MembershipNode (docs/membership.md): heartbeats to its observers, convictions reported to
// the subject's observers and the subject, flooding from L reports, refutation, cuts.
#include "membership/membership_node.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace vigil::membership {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const MonoTime kT0 = MonoTime{} + seconds(1000);

class MembershipNodeTest : public ::testing::Test {
 protected:
  MembershipNodeTest() {
    std::vector<std::string> ids;
    for (int i = 0; i < 40; ++i) ids.push_back("m" + std::to_string(i));
    graph_ = std::make_shared<const ObserverGraph>(ObserverGraph::Build(ids, 8));
  }

  MembershipOptions Options(const std::string& self) const {
    MembershipOptions o;
    o.self = self;
    return o;
  }
  std::unique_ptr<MembershipNode> Make(const std::string& self) {
    auto node = std::make_unique<MembershipNode>(Options(self), graph_, source_, kT0);
    node->set_on_removed([this](const std::string& id, MonoTime) { removed_.push_back(id); });
    return node;
  }
  std::set<std::string> ObserversOf(const std::string& id) const {
    std::set<std::string> out;
    for (MemberIndex o : graph_->ObserversOf(*graph_->Find(id))) out.insert(graph_->id(o));
    return out;
  }
  std::string ObserverOf(const std::string& subject, int slot) const {
    return graph_->id(graph_->ObserversOf(*graph_->Find(subject))[slot]);
  }
  // Anti-entropy's digests go out on their own schedule; tests of other messages drop them.
  static void DropDigests(Outbox& out) {
    std::erase_if(out.gossip, [](auto& entry) {
      entry.second.digests.clear();
      return entry.second.empty();
    });
  }
  std::set<std::string> Destinations(const Outbox& out) const {
    std::set<std::string> to;
    for (const auto& [id, gossip] : out.gossip) to.insert(id);
    return to;
  }
  // Heartbeats every subject of `node` from kT0 to `until`, ticking as it goes.
  void KeepSubjectsAlive(MembershipNode& node, MonoTime until, Outbox& out) {
    std::uint64_t seq = 0;
    for (MonoTime t = kT0; t <= until; t += seconds(1)) {
      ++seq;
      for (MemberIndex s : graph_->SubjectsOf(*graph_->Find(node.self()))) {
        node.OnHeartbeat(graph_->id(s), 1, seq, t, out);
      }
      node.Tick(t, out);
    }
  }

  // At `t` (a whole second after kT0), heartbeats from every subject of `node` but `silent`,
  // with sequence `seq`; then a Tick. Between whole seconds, only the Tick.
  void BeatAllBut(MembershipNode& node, const std::string& silent, MonoTime t,
                  std::uint64_t& seq, Outbox& out) {
    if ((t - kT0) % seconds(1) == Duration::zero()) {
      ++seq;
      for (MemberIndex s : graph_->SubjectsOf(*graph_->Find(node.self()))) {
        if (graph_->id(s) != silent) node.OnHeartbeat(graph_->id(s), 1, seq, t, out);
      }
    }
    node.Tick(t, out);
  }

  std::shared_ptr<const ObserverGraph> graph_;
  GraphSource source_;
  std::vector<std::string> removed_;
};

TEST_F(MembershipNodeTest, HeartbeatsItsObserversOncePerInterval) {
  auto node = Make("m3");
  Outbox out;
  int rounds = 0;
  std::uint64_t last_sequence = 0;
  for (MonoTime t = kT0; t < kT0 + seconds(10); t += milliseconds(100)) {
    node->Tick(t, out);
    if (!out.heartbeats.empty()) {
      ++rounds;
      EXPECT_EQ(std::set<std::string>(out.heartbeats.begin(), out.heartbeats.end()),
                ObserversOf("m3"));
      EXPECT_EQ(out.heartbeats.size(), 8u);
      EXPECT_EQ(out.heartbeat_sequence, last_sequence + 1);
      last_sequence = out.heartbeat_sequence;
    }
    out.clear();
  }
  EXPECT_GE(rounds, 9);
  EXPECT_LE(rounds, 10);
}

TEST_F(MembershipNodeTest, HeardSubjectsAreNeverConvicted) {
  auto node = Make("m5");
  Outbox out;
  KeepSubjectsAlive(*node, kT0 + seconds(120), out);
  EXPECT_EQ(node->convictions(), 0u);
  DropDigests(out);
  EXPECT_TRUE(out.gossip.empty());
}

TEST_F(MembershipNodeTest, AConvictionGoesToTheSubjectsObserversAndTheSubjectOnly) {
  auto node = Make("m5");
  Outbox out;
  node->Tick(kT0, out);
  out.clear();
  // Never heard: every subject is convicted once the grace has passed.
  node->Tick(kT0 + MembershipOptions{}.first_heartbeat_grace, out);
  const auto subjects = graph_->SubjectsOf(*graph_->Find("m5"));
  EXPECT_EQ(node->convictions(), subjects.size());
  std::set<std::string> allowed;
  for (MemberIndex s : subjects) {
    const std::string& id = graph_->id(s);
    allowed.insert(id);
    for (const auto& o : ObserversOf(id)) allowed.insert(o);
  }
  allowed.erase("m5");
  const auto to = Destinations(out);
  EXPECT_TRUE(std::includes(allowed.begin(), allowed.end(), to.begin(), to.end()));
  for (const auto& [id, gossip] : out.gossip) {
    for (const Report& r : gossip.reports) {
      EXPECT_EQ(r.observer, "m5");
      EXPECT_TRUE(id == r.subject || ObserversOf(r.subject).contains(id)) << id << " " << r.subject;
    }
  }
}

// Lifeguard: while a node doubts itself (AbstainUntil), its convictions are held back; one
// still standing when the doubt ends is reported then, one the subject ended is never sent.
TEST_F(MembershipNodeTest, AnAbstainingNodeReportsNobodyUntilItsDoubtEnds) {
  auto node = Make("m5");
  const auto subjects = graph_->SubjectsOf(*graph_->Find("m5"));
  ASSERT_GE(subjects.size(), 2u);
  const std::string dead = graph_->id(subjects[0]);  // silent from 61 s on
  const std::string late = graph_->id(subjects[1]);  // silent from 61 s to 85 s
  Outbox out;
  KeepSubjectsAlive(*node, kT0 + seconds(60), out);
  out.clear();
  const MonoTime doubt_ends = kT0 + seconds(90);
  node->AbstainUntil(doubt_ends);
  node->AbstainUntil(kT0 + seconds(70));  // an earlier end changes nothing
  std::uint64_t seq = 61;
  for (MonoTime t = kT0 + seconds(61); t < doubt_ends; t += milliseconds(100)) {
    if ((t - kT0) % seconds(1) == Duration::zero()) {
      ++seq;
      for (MemberIndex m : subjects) {
        const std::string& id = graph_->id(m);
        if (id == dead || (id == late && t < kT0 + seconds(85))) continue;
        node->OnHeartbeat(id, 1, seq, t, out);
      }
    }
    node->Tick(t, out);
  }
  EXPECT_GE(node->convictions(), 2u);  // both were convicted, while abstaining
  EXPECT_GE(node->abstentions(), 2u);
  DropDigests(out);
  EXPECT_TRUE(out.gossip.empty()) << "a report went out while abstaining";
  node->Tick(doubt_ends, out);
  DropDigests(out);
  ASSERT_FALSE(out.gossip.empty()) << "the conviction still standing was never reported";
  for (const auto& [to, gossip] : out.gossip) {
    ASSERT_EQ(gossip.reports.size(), 1u) << to;  // once, as the first report of it
    EXPECT_EQ(gossip.reports[0].subject, dead);
    EXPECT_EQ(gossip.reports[0].round, 1u);
  }
}

TEST_F(MembershipNodeTest, AReportedMemberRefutesOncePerIncarnation) {
  auto node = Make("m7");
  Outbox out;
  const Report first{ObserverOf("m7", 0), "m7", 1, 1};
  node->OnGossip(Gossip{{first}, {}}, first.observer, kT0, out);
  EXPECT_EQ(node->incarnation(), 2u);
  EXPECT_EQ(Destinations(out), ObserversOf("m7"));
  for (const auto& [id, gossip] : out.gossip) {
    EXPECT_EQ(gossip.alives, (std::vector<Alive>{{"m7", 2}}));
  }
  out.clear();
  const Report late{ObserverOf("m7", 1), "m7", 1, 1};  // the old incarnation: refuted already
  node->OnGossip(Gossip{{late}, {}}, late.observer, kT0 + milliseconds(5), out);
  EXPECT_EQ(node->incarnation(), 2u);
  // Not again: the late reporter alone is told the incarnation it missed.
  EXPECT_EQ(Destinations(out), std::set<std::string>{late.observer});
  EXPECT_EQ(out.gossip[0].second.alives, (std::vector<Alive>{{"m7", 2}}));
  out.clear();
  const Report again{ObserverOf("m7", 2), "m7", 2, 1};
  node->OnGossip(Gossip{{again}, {}}, again.observer, kT0 + seconds(1), out);
  EXPECT_EQ(node->incarnation(), 3u);
  EXPECT_EQ(node->refutations(), 2u);
  EXPECT_TRUE(removed_.empty());
}

// Reports stay among the subject's observers until L of them agree; then everyone hears.
TEST_F(MembershipNodeTest, FloodsReportsOnceLObserversAgreeAndCutsAtH) {
  const std::string subject = "m11";
  const std::string self = ObserverOf(subject, 7);
  auto node = Make(self);
  Outbox out;
  KeepSubjectsAlive(*node, kT0, out);
  out.clear();
  const Report one{ObserverOf(subject, 0), subject, 1, 1};
  node->OnGossip(Gossip{{one}, {}}, one.observer, kT0 + milliseconds(10), out);
  EXPECT_TRUE(out.gossip.empty());  // one report: not passed on
  const Report two{ObserverOf(subject, 1), subject, 1, 1};
  node->OnGossip(Gossip{{two}, {}}, two.observer, kT0 + milliseconds(20), out);
  EXPECT_TRUE(out.gossip.empty());  // gathered for pass_on_gather first
  node->Tick(kT0 + milliseconds(20) + MembershipOptions{}.pass_on_gather, out);
  DropDigests(out);
  std::set<std::string> expected;
  for (MemberIndex n : graph_->NeighboursOf(*graph_->Find(self))) expected.insert(graph_->id(n));
  EXPECT_EQ(Destinations(out), expected);  // every neighbour hears of one or both, together
  for (const auto& [id, gossip] : out.gossip) {
    for (const Report& r : gossip.reports) EXPECT_NE(id, r.observer);  // not back to its author
    const std::size_t want = id == one.observer || id == two.observer ? 1 : 2;
    EXPECT_EQ(gossip.reports.size(), want) << id;
  }
  out.clear();
  for (int slot = 2; slot < 5; ++slot) {
    const Report r{ObserverOf(subject, slot), subject, 1, 1};
    node->OnGossip(Gossip{{r}, {}}, r.observer, kT0 + milliseconds(50), out);
  }
  EXPECT_TRUE(removed_.empty());  // settling
  node->Tick(kT0 + milliseconds(50) + CutOptions{}.settle, out);
  EXPECT_EQ(removed_, std::vector<std::string>{subject});
  EXPECT_EQ(node->view().size(), 39u);
  EXPECT_FALSE(node->view().Find(subject).has_value());
  EXPECT_EQ(node->cuts(), 1u);
}

// The flood brings a report back over other paths: a member passes each report on once
// (it remembers a fingerprint of each for report_lifetime), and takes a new round for news.
TEST_F(MembershipNodeTest, AReportHeardAgainIsNotPassedOnAgain) {
  const std::string subject = "m11";
  auto node = Make(ObserverOf(subject, 7));
  const Report one{ObserverOf(subject, 0), subject, 1, 1};
  const Report two{ObserverOf(subject, 1), subject, 1, 1};
  const std::string other = ObserverOf(subject, 2);
  // Reports about `subject` by others that `node` sent between `from` and `to`.
  const auto passed_on = [&](const Gossip& in, MonoTime from, MonoTime to) {
    Outbox out;
    node->OnGossip(in, other, from, out);
    node->Tick(to, out);
    int count = 0;
    for (const auto& [id, gossip] : out.gossip) {
      for (const Report& r : gossip.reports) count += r.subject == subject;
    }
    return count;
  };
  EXPECT_GT(passed_on(Gossip{{one, two}, {}}, kT0, kT0 + milliseconds(100)), 0);
  EXPECT_EQ(passed_on(Gossip{{two, one}, {}}, kT0 + milliseconds(200), kT0 + milliseconds(300)),
            0)
      << "a report seen was passed on again";
  const Report next_round{one.observer, subject, 1, 2};
  EXPECT_GT(passed_on(Gossip{{next_round}, {}}, kT0 + milliseconds(400), kT0 + milliseconds(500)),
            0)
      << "a new round was taken for a report seen";
}

TEST_F(MembershipNodeTest, ARefutationWithdrawsTheReportsAndFollowsThem) {
  const std::string subject = "m13";
  auto node = Make(ObserverOf(subject, 6));
  Outbox out;
  for (int slot = 0; slot < 4; ++slot) {  // 4 < H: unstable, already passed on
    const Report r{ObserverOf(subject, slot), subject, 1, 1};
    node->OnGossip(Gossip{{r}, {}}, r.observer, kT0, out);
  }
  const Duration gather = MembershipOptions{}.pass_on_gather;
  node->Tick(kT0 + gather, out);
  out.clear();
  node->OnGossip(Gossip{{}, {{subject, 2}}}, subject, kT0 + gather, out);
  node->Tick(kT0 + 2 * gather, out);
  // It had passed the reports on: the refutation follows.
  const bool refutation_sent = std::any_of(out.gossip.begin(), out.gossip.end(), [&](auto& g) {
    return g.second.alives == std::vector<Alive>{{subject, 2}};
  });
  EXPECT_TRUE(refutation_sent);
  out.clear();
  // A late report of the refuted incarnation counts for nothing.
  const Report late{ObserverOf(subject, 4), subject, 1, 1};
  node->OnGossip(Gossip{{late}, {}}, late.observer, kT0 + milliseconds(10), out);
  EXPECT_TRUE(out.gossip.empty());
  // One of the new incarnation counts, alone: with the 4 withdrawn ones it would make H.
  const Report fresh{ObserverOf(subject, 5), subject, 2, 1};
  node->OnGossip(Gossip{{fresh}, {}}, fresh.observer, kT0 + milliseconds(20), out);
  node->Tick(kT0 + seconds(5), out);
  EXPECT_TRUE(removed_.empty());
}

// Reports of the new incarnation that came before the refutation are not withdrawn with the
// old ones: the subject refuted, then died again.
TEST_F(MembershipNodeTest, ARefutationKeepsReportsOfTheNewIncarnation) {
  const std::string subject = "m17";
  auto node = Make(ObserverOf(subject, 7));
  Outbox out;
  for (int slot = 0; slot < 2; ++slot) {
    const Report r{ObserverOf(subject, slot), subject, 2, 1};
    node->OnGossip(Gossip{{r}, {}}, r.observer, kT0, out);
  }
  node->OnGossip(Gossip{{}, {{subject, 2}}}, subject, kT0 + milliseconds(5), out);
  for (int slot = 2; slot < 5; ++slot) {
    const Report r{ObserverOf(subject, slot), subject, 2, 1};
    node->OnGossip(Gossip{{r}, {}}, r.observer, kT0 + milliseconds(10), out);
  }
  node->Tick(kT0 + seconds(1), out);
  EXPECT_EQ(removed_, std::vector<std::string>{subject});
}

// An observer that had not convicted a subject learns of its refutation; then the subject
// dies: the conviction reports the incarnation the refutation announced, so it counts.
TEST_F(MembershipNodeTest, AnObserverReportsTheRefutedIncarnationOfASubjectThatDied) {
  const std::string self = "m22";
  auto node = Make(self);
  Outbox out;
  KeepSubjectsAlive(*node, kT0 + seconds(60), out);
  const std::string subject = graph_->id(graph_->SubjectsOf(*graph_->Find(self))[0]);
  node->OnGossip(Gossip{{}, {{subject, 2}}}, subject, kT0 + seconds(60), out);
  out.clear();
  Report reported;
  std::uint64_t seq = 61;
  for (MonoTime t = kT0 + seconds(60); t < kT0 + seconds(90) && reported.subject.empty();
       t += milliseconds(100)) {
    BeatAllBut(*node, subject, t, seq, out);
    for (const auto& [to, gossip] : out.gossip) {
      for (const Report& r : gossip.reports) {
        if (r.subject == subject) reported = r;
      }
    }
    out.clear();
  }
  EXPECT_EQ(reported.subject, subject);
  EXPECT_EQ(reported.incarnation, 2u);
}

// An observer that convicted a subject which then refuted takes the refutation as a sign of
// life: if the subject dies before its next heartbeat, the observer convicts it again.
TEST_F(MembershipNodeTest, AnObserverConvictsAgainASubjectThatRefutedThenDied) {
  const std::string self = "m21";
  auto node = Make(self);
  Outbox out;
  KeepSubjectsAlive(*node, kT0 + seconds(60), out);
  const std::string subject = graph_->id(graph_->SubjectsOf(*graph_->Find(self))[0]);
  ASSERT_EQ(node->convictions(), 0u);
  // From kT0 + 60 s on, every subject but `subject` goes on heartbeating once a second.
  std::uint64_t seq = 61;
  auto advance = [&](MonoTime t) { BeatAllBut(*node, subject, t, seq, out); };
  MonoTime t = kT0 + seconds(60);
  while (node->convictions() == 0 && t < kT0 + seconds(120)) advance(t += milliseconds(100));
  ASSERT_EQ(node->convictions(), 1u);
  // It refutes, then is silent for good.
  node->OnGossip(Gossip{{}, {{subject, 2}}}, subject, t, out);
  out.clear();
  bool reported_again = false;
  const MonoTime refuted = t;
  while (!reported_again && t < refuted + seconds(30)) {
    advance(t += milliseconds(100));
    for (const auto& [to, gossip] : out.gossip) {
      for (const Report& r : gossip.reports) {
        reported_again |= r.subject == subject && r.incarnation == 2;
      }
    }
    out.clear();
  }
  EXPECT_TRUE(reported_again);
  EXPECT_EQ(node->convictions(), 2u);
}

}  // namespace
}  // namespace vigil::membership
