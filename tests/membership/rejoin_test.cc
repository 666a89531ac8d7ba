// MembershipNode (docs/membership.md, "Coming back"): a member taken out is remembered at the
// incarnation it was taken out at; its heartbeats at that incarnation are answered with a
// report about itself, which it refutes; a newer incarnation brings it back and floods.
#include <set>
#include <string>
#include <vector>

#include "tests/membership/rejoin_fixture.h"

namespace vigil::membership::testing_rejoin {
namespace {

TEST_F(RejoinTest, AHeartbeatAtTheIncarnationTakenOutIsAnsweredWithAReportAtMostEvery5s) {
  const std::string subject = "m3";
  auto node = Make(ObserverOf(subject, 7));
  TakeOut(*node, subject, 1, kT0 + seconds(2));
  EXPECT_EQ(node->tombstone_count(), 1u);
  Outbox out;
  node->OnHeartbeat(subject, 1, 50, kT0 + seconds(3), out);
  ASSERT_EQ(Destinations(out), std::set<std::string>{subject});
  EXPECT_EQ(out.gossip[0].second.reports,
            (std::vector<Report>{{node->self(), subject, 1, kFirstNoticeRound}}));
  out.clear();
  node->OnHeartbeat(subject, 1, 51, kT0 + seconds(7), out);  // within 5 s: not again
  EXPECT_TRUE(out.gossip.empty());
  node->OnHeartbeat(subject, 1, 52, kT0 + seconds(8), out);
  EXPECT_EQ(Destinations(out), std::set<std::string>{subject});
  // A new round, not ignored as seen.
  EXPECT_EQ(out.gossip[0].second.reports[0].round, kFirstNoticeRound + 1);
  EXPECT_EQ(node->notices_sent(), 2u);
  EXPECT_TRUE(readmitted_.empty());
  // A member never taken out and not watched here is not answered at all.
  out.clear();
  node->OnHeartbeat("m39", 1, 1, kT0 + seconds(9), out);
  EXPECT_TRUE(out.gossip.empty());
}

// Reports at an incarnation unknown to their observers (0, as in a list every member starts
// from) take a member out at 0. A listing names such a member at 1 (the least incarnation),
// which is not newer: a member that had not taken it out yet, listing it a moment later,
// does not bring it back. A listing at a real, higher incarnation does.
TEST_F(RejoinTest, AListingAtTheLeastIncarnationDoesNotBringBackAMemberTakenOutAtAnUnknownOne) {
  const std::string subject = "m9";
  auto node = Make(ObserverOf(subject, 7));
  TakeOut(*node, subject, 0, kT0 + seconds(2));
  Outbox out;
  node->OnGossip(Gossip{.members = {{subject, 1, "listed"}}}, "m3", kT0 + seconds(3), out);
  node->Tick(kT0 + seconds(4), out);
  EXPECT_TRUE(readmitted_.empty());
  EXPECT_EQ(node->tombstone_count(), 1u);
  node->OnGossip(Gossip{.members = {{subject, 2, "listed"}}}, "m3", kT0 + seconds(5), out);
  node->Tick(kT0 + seconds(6), out);
  ASSERT_EQ(readmitted_.size(), 1u);
  EXPECT_EQ(readmitted_[0].first, subject);
}

TEST_F(RejoinTest, AHeartbeatAtANewerIncarnationBringsItBackEverywhere) {
  const std::string subject = "m5";
  const std::string self = ObserverOf(subject, 6);
  auto node = Make(self);
  TakeOut(*node, subject, 1, kT0 + seconds(2));
  const std::size_t watched_without = node->subject_count();
  Outbox out;
  const MonoTime t = kT0 + seconds(4);
  node->OnHeartbeat(subject, 2, 1, t, out);
  EXPECT_TRUE(out.gossip.empty());  // gathered for pass_on_gather first
  EXPECT_LE(node->NextWakeup(), t + MembershipOptions{}.pass_on_gather);
  node->Tick(t + MembershipOptions{}.pass_on_gather, out);
  DropDigests(out);
  // The whole cluster took it out: every neighbour hears it is back.
  auto neighbours = NeighboursOf(self);
  neighbours.erase(subject);
  EXPECT_EQ(Destinations(out), neighbours);
  for (const auto& [to, gossip] : out.gossip) {
    EXPECT_EQ(gossip.alives, (std::vector<Alive>{{subject, 2}})) << to;
  }
  EXPECT_FALSE(node->view().Find(subject).has_value());  // not before the batch ends
  EXPECT_LE(node->NextWakeup(), t + MembershipOptions{}.admission_batch);
  out.clear();
  node->Tick(t + MembershipOptions{}.admission_batch, out);
  EXPECT_TRUE(node->view().Find(subject).has_value());
  EXPECT_EQ(node->view().size(), 40u);
  ASSERT_EQ(readmitted_.size(), 1u);
  EXPECT_EQ(readmitted_[0].first, subject);
  EXPECT_EQ(node->readmissions(), 1u);
  EXPECT_EQ(node->tombstone_count(), 0u);
  EXPECT_EQ(node->subject_count(), watched_without + 1);  // watching it again
  // The refuted incarnation's reports count for nothing now.
  const Report stale{ObserverOf(subject, 0), subject, 1, 2};
  node->OnGossip(Gossip{{stale}, {}}, stale.observer, t + seconds(1), out);
  node->Tick(t + seconds(3), out);
  EXPECT_EQ(removed_.size(), 1u);
}

// The incarnation taken out at is the newest the node knew of: here its own detector heard 3
// while the reports named 1. A heartbeat at 2 is stale; at 4 it is news.
TEST_F(RejoinTest, TheIncarnationTakenOutIsTheNewestKnown) {
  const std::string self = "m0";
  const std::string subject = graph_->id(graph_->SubjectsOf(*graph_->Find(self))[0]);
  auto node = Make(self);
  Outbox out;
  node->OnHeartbeat(subject, 3, 1, kT0 + milliseconds(500), out);
  TakeOut(*node, subject, 1, kT0 + seconds(2));
  out.clear();
  node->OnHeartbeat(subject, 2, 2, kT0 + seconds(3), out);
  ASSERT_EQ(Destinations(out), std::set<std::string>{subject});
  EXPECT_EQ(out.gossip[0].second.reports[0].incarnation, 3u);  // told it is out at 3
  node->OnHeartbeat(subject, 3, 3, kT0 + seconds(3), out);
  node->Tick(kT0 + seconds(4), out);
  EXPECT_TRUE(readmitted_.empty());
  node->OnHeartbeat(subject, 4, 4, kT0 + seconds(5), out);
  node->Tick(kT0 + seconds(6), out);
  EXPECT_EQ(readmitted_.size(), 1u);
}

TEST_F(RejoinTest, OnlyARefutationNewerThanTheIncarnationTakenOutBringsItBack) {
  const std::string subject = "m8";
  const std::string self = ObserverOf(subject, 7);
  auto node = Make(self);
  TakeOut(*node, subject, 3, kT0 + seconds(2));
  Outbox out;
  node->OnGossip(Gossip{{}, {{subject, 2}, {subject, 3}}}, "m0", kT0 + seconds(3), out);
  node->Tick(kT0 + seconds(4), out);
  for (const auto& [to, gossip] : out.gossip) EXPECT_TRUE(gossip.alives.empty()) << to;
  EXPECT_TRUE(readmitted_.empty());
  out.clear();
  const std::string from = *NeighboursOf(self).begin();
  // Before kT0 + 5 s, when the node's silent subjects would be convicted.
  const MonoTime t = kT0 + milliseconds(4500);
  node->OnGossip(Gossip{{}, {{subject, 4}}}, from, t, out);
  node->Tick(t + MembershipOptions{}.pass_on_gather, out);
  auto expected = NeighboursOf(self);
  expected.erase(from);  // not back to where it came from
  expected.erase(subject);
  EXPECT_EQ(Destinations(out), expected);
  out.clear();
  node->OnGossip(Gossip{{}, {{subject, 4}}}, "m1", t + milliseconds(50), out);  // known: once
  node->Tick(t + milliseconds(100), out);
  for (const auto& [to, gossip] : out.gossip) EXPECT_TRUE(gossip.alives.empty()) << to;
  node->Tick(kT0 + seconds(6), out);
  EXPECT_EQ(readmitted_.size(), 1u);
}

// Without a heartbeat from it: once per probe_interval, a member taken out that this node
// neighboured is told, at random. One it did not neighbour is left to its own neighbours.
TEST_F(RejoinTest, MembersTakenOutAreProbedByTheirFormerNeighbours) {
  const std::string self = "m0";
  auto node = Make(self);
  Outbox out;
  node->Tick(kT0 + seconds(1), out);
  EXPECT_EQ(node->notices_sent(), 0u);  // nobody taken out: no probe
  const auto neighbours = NeighboursOf(self);
  const std::string a = *neighbours.begin();
  const std::string b = *std::next(neighbours.begin());
  std::string stranger;  // neither observes m0 nor is observed by it
  for (const std::string& id : graph_->members()) {
    if (id != self && !neighbours.contains(id)) stranger = id;
  }
  // All three in one cut, so that each is reported by its observers in the first graph.
  for (const std::string& id : {a, b, stranger}) {
    for (int slot = 0; slot < 5; ++slot) {
      const Report r{ObserverOf(id, slot), id, 1, 1};
      node->OnGossip(Gossip{{r}, {}}, r.observer, kT0 + seconds(1), out);
    }
  }
  node->Tick(kT0 + seconds(2), out);
  ASSERT_EQ(node->tombstone_count(), 3u);
  std::set<std::string> probed;
  for (MonoTime t = kT0 + seconds(2); t <= kT0 + seconds(30); t += milliseconds(100)) {
    out.clear();
    node->Tick(t, out);
    for (const auto& [to, gossip] : out.gossip) {
      // Not its convictions of its own subjects (silent here), which go to them too.
      if (node->view().Find(to)) continue;
      for (const Report& r : gossip.reports) {
        if (r.subject == to) probed.insert(to);
      }
    }
  }
  EXPECT_EQ(probed, (std::set<std::string>{a, b}));
  // One a second at most, and each member at most once per notice_repeat (5 s).
  EXPECT_LE(node->notices_sent(), 12u);
  EXPECT_GE(node->notices_sent(), 8u);
  // A heartbeat from one just probed is answered all the same: probes went unanswered.
  out.clear();
  node->OnHeartbeat(a, 1, 99, kT0 + seconds(30), out);
  EXPECT_EQ(Destinations(out), std::set<std::string>{a});
}

TEST_F(RejoinTest, AMemberToldItIsOutRefutesToItsObserversAndTheTeller) {
  const std::string self = "m7";
  auto node = Make(self);
  // A member that neither observes m7 nor is observed by it.
  std::string teller;
  for (const std::string& id : graph_->members()) {
    if (id != self && !NeighboursOf(self).contains(id)) teller = id;
  }
  ASSERT_FALSE(teller.empty());
  Outbox out;
  node->OnGossip(Gossip{{{teller, self, 1, 1}}, {}}, teller, kT0, out);
  EXPECT_EQ(node->incarnation(), 2u);
  std::set<std::string> expected{teller};
  for (MemberIndex o : graph_->ObserversOf(*graph_->Find(self))) expected.insert(graph_->id(o));
  EXPECT_EQ(Destinations(out), expected);
  // Told again (the refutation was lost): the teller gets the incarnation it missed.
  out.clear();
  node->OnGossip(Gossip{{{teller, self, 1, 2}}, {}}, teller, kT0 + seconds(5), out);
  EXPECT_EQ(node->incarnation(), 2u);
  ASSERT_EQ(Destinations(out), std::set<std::string>{teller});
  EXPECT_EQ(out.gossip[0].second.alives, (std::vector<Alive>{{self, 2}}));
}

// After a partition heals, each side took the other out: a member told it is out by one it
// took out tells it so in turn, so that both come back.
TEST_F(RejoinTest, AToldMemberThatTookTheTellerOutTellsItInTurn) {
  const std::string self = "m7";
  std::string teller;
  for (const std::string& id : graph_->members()) {
    if (id != self && !NeighboursOf(self).contains(id)) teller = id;
  }
  auto node = Make(self);
  TakeOut(*node, teller, 1, kT0 + seconds(2));
  Outbox out;
  node->OnGossip(Gossip{{{teller, self, 1, 1}}, {}}, teller, kT0 + seconds(3), out);
  ASSERT_TRUE(Destinations(out).contains(teller));
  for (const auto& [to, gossip] : out.gossip) {
    if (to != teller) continue;
    EXPECT_EQ(gossip.alives, (std::vector<Alive>{{self, 2}}));
    EXPECT_EQ(gossip.reports, (std::vector<Report>{{self, teller, 1, kFirstNoticeRound}}));
  }
}

// News of comebacks is gathered for pass_on_gather (20 ms), then sent in one go.
TEST_F(RejoinTest, NewsOfComebacksIsGatheredThenPassedOnTogether) {
  auto node = Make("m0");
  for (int slot = 0; slot < 5; ++slot) ASSERT_NE(ObserverOf("m21", slot), "m20");
  TakeOut(*node, "m20", 1, kT0 + seconds(2));
  TakeOut(*node, "m21", 1, kT0 + seconds(3));
  const MonoTime t = kT0 + milliseconds(3500);
  Outbox out;
  node->OnGossip(Gossip{{}, {{"m21", 2}}}, "m1", t, out);
  node->OnGossip(Gossip{{}, {{"m20", 2}}}, "m2", t + milliseconds(10), out);
  for (const auto& [to, gossip] : out.gossip) EXPECT_TRUE(gossip.alives.empty()) << to;
  node->Tick(t + milliseconds(20), out);
  auto expected = NeighboursOf("m0");
  expected.erase("m20");
  expected.erase("m21");
  std::set<std::string> told;
  for (const auto& [to, gossip] : out.gossip) {
    if (gossip.alives.empty()) continue;
    told.insert(to);
    std::vector<Alive> want;
    if (to != "m1") want.push_back({"m21", 2});  // not back to where it came from
    if (to != "m2") want.push_back({"m20", 2});
    EXPECT_EQ(gossip.alives, want) << to;
  }
  EXPECT_EQ(told, expected);
}

TEST_F(RejoinTest, MembersComingBackInOneBatchAreOneGraphChange) {
  auto node = Make("m0");
  for (int slot = 0; slot < 5; ++slot) ASSERT_NE(ObserverOf("m21", slot), "m20");
  TakeOut(*node, "m20", 1, kT0 + seconds(2));
  TakeOut(*node, "m21", 1, kT0 + seconds(4));
  ASSERT_EQ(source_.changes.size(), 2u);
  Outbox out;
  node->OnGossip(Gossip{{}, {{"m21", 2}}}, "m1", kT0 + seconds(5), out);
  node->OnGossip(Gossip{{}, {{"m20", 2}}}, "m1", kT0 + seconds(5) + milliseconds(200), out);
  node->Tick(kT0 + seconds(5) + milliseconds(250), out);
  ASSERT_EQ(source_.changes.size(), 3u);
  EXPECT_EQ(source_.changes[2].first, (std::vector<std::string>{"m20", "m21"}));
  EXPECT_TRUE(source_.changes[2].second.empty());
  EXPECT_EQ(node->view().size(), 40u);
  EXPECT_EQ(node->cuts(), 2u);  // coming back is not a cut
}

// After the tombstone lifetime a member taken out is a stranger: its heartbeat admits it as
// any unknown member's does (docs/membership.md, "Joining"), whatever its incarnation.
TEST_F(RejoinTest, AfterTheTombstoneLifetimeATakenOutMemberIsAStrangerAgain) {
  const std::string subject = "m9";
  auto node = Make(ObserverOf(subject, 7), seconds(60));
  TakeOut(*node, subject, 1, kT0 + seconds(2));
  Outbox out;
  node->Tick(kT0 + seconds(61), out);
  EXPECT_EQ(node->tombstone_count(), 1u);
  node->Tick(kT0 + seconds(62), out);
  EXPECT_EQ(node->tombstone_count(), 0u);
  out.clear();
  node->OnHeartbeat(subject, 1, 70, kT0 + seconds(63), out);
  node->Tick(kT0 + seconds(64), out);
  for (const auto& [to, gossip] : out.gossip) {
    EXPECT_TRUE(gossip.reports.empty()) << to;  // not told it is out: nothing says so now
  }
  EXPECT_EQ(readmitted_, (std::vector<std::pair<std::string, MonoTime>>{
                             {subject, kT0 + seconds(64)}}));  // the Tick after the batch
  EXPECT_EQ(node->tombstone_count(), 0u);
}

}  // namespace
}  // namespace vigil::membership::testing_rejoin
