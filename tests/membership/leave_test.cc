// MembershipNode (docs/membership.md, "Leaving"): a member that stops tells its neighbours;
// the leave floods once, its observers report it at once, and it is taken out as left, not
// down. A stale leave is ignored; a forged one is reported once, which the member refutes.
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tests/membership/rejoin_fixture.h"

namespace vigil::membership::testing_rejoin {
namespace {

// The reports `out` sends about `subject`, to anyone.
std::vector<Report> ReportsAbout(const Outbox& out, const std::string& subject) {
  std::vector<Report> found;
  for (const auto& [to, gossip] : out.gossip) {
    for (const Report& r : gossip.reports) {
      if (r.subject == subject) found.push_back(r);
    }
  }
  return found;
}

std::set<std::string> LeaveDestinations(const Outbox& out) {
  std::set<std::string> to;
  for (const auto& [id, gossip] : out.gossip) {
    if (!gossip.leaves.empty()) to.insert(id);
  }
  return to;
}

TEST_F(RejoinTest, ALeavingMemberTellsEachOfItsNeighbours) {
  auto node = Make("m3");
  Outbox out;
  node->Leave(out);
  EXPECT_EQ(Destinations(out), NeighboursOf("m3"));
  for (const auto& [to, gossip] : out.gossip) {
    EXPECT_EQ(gossip.leaves, (std::vector<Alive>{{"m3", 1}})) << to;
    EXPECT_EQ(gossip.leaves.size(), gossip.reports.size() + gossip.alives.size() + 1u) << to;
  }
}

TEST_F(RejoinTest, AnObserverReportsALeaveAtOnceAndFloodsItOnce) {
  const std::string subject = "m3";
  const std::string self = ObserverOf(subject, 0);
  auto node = Make(self);
  node->AbstainUntil(kT0 + seconds(30));  // its own doubt does not hold back the subject's word
  Outbox out;
  const Gossip leave{.leaves = {{subject, 4}}};
  const Duration gather = MembershipOptions{}.pass_on_gather;
  node->OnGossip(leave, subject, kT0 + seconds(1), out);
  // Its report (at the leave's incarnation) goes to the subject's other observers at once.
  std::set<std::string> reported_to;
  for (const auto& [to, gossip] : out.gossip) {
    for (const Report& r : gossip.reports) {
      EXPECT_EQ(r, (Report{self, subject, 4, 1})) << to;
      reported_to.insert(to);
    }
  }
  for (int slot = 1; slot < 8; ++slot) EXPECT_TRUE(reported_to.contains(ObserverOf(subject, slot)));
  // The leave itself is passed on gathered with the rest, for pass_on_gather.
  EXPECT_TRUE(LeaveDestinations(out).empty());
  node->Tick(kT0 + seconds(1) + gather, out);
  auto neighbours = NeighboursOf(self);
  neighbours.erase(subject);
  EXPECT_EQ(LeaveDestinations(out), neighbours);
  // A second copy (vigild sends two) and the same leave from elsewhere change nothing.
  out.clear();
  node->OnGossip(leave, subject, kT0 + seconds(2), out);
  node->OnGossip(leave, ObserverOf(subject, 3), kT0 + seconds(2), out);
  node->Tick(kT0 + seconds(2) + gather, out);
  EXPECT_TRUE(LeaveDestinations(out).empty());
}

TEST_F(RejoinTest, AMemberThatSaidItLeavesIsTakenOutAsLeftAndNotProbed) {
  const std::string subject = "m3";
  auto heard = Make(ObserverOf(subject, 7));
  auto missed = Make(ObserverOf(subject, 6));
  Outbox out;
  heard->OnGossip(Gossip{.leaves = {{subject, 1}}}, subject, kT0 + seconds(1), out);
  TakeOut(*heard, subject, 1, kT0 + seconds(2));
  TakeOut(*missed, subject, 1, kT0 + seconds(2));
  EXPECT_TRUE(heard->left(subject));
  EXPECT_FALSE(missed->left(subject));  // it did not hear it: down
  EXPECT_EQ(heard->Counts().left, 1u);
  std::vector<std::tuple<std::string, std::uint64_t, bool>> listed;
  heard->ForEachTakenOut([&](const std::string& id, std::uint64_t incarnation, bool left) {
    listed.emplace_back(id, incarnation, left);
  });
  EXPECT_EQ(listed, (std::vector<std::tuple<std::string, std::uint64_t, bool>>{
                        {subject, 1, true}}));
  // Its neighbours probe a member taken out as down, to bring it back if it lives; nobody
  // is there to come back after a leave.
  for (int s = 3; s <= 8; ++s) {
    heard->Tick(kT0 + seconds(s), out);
    missed->Tick(kT0 + seconds(s), out);
  }
  EXPECT_EQ(heard->notices_sent(), 0u);
  EXPECT_GT(missed->notices_sent(), 0u);
}

TEST_F(RejoinTest, ALeaveHeardAfterTheRemovalLabelsItAtThatIncarnationOnly) {
  auto node = Make("m20");
  TakeOut(*node, "m3", 1, kT0 + seconds(2));
  TakeOut(*node, "m4", 3, kT0 + seconds(2));
  TakeOut(*node, "m5", 3, kT0 + seconds(2));
  Outbox out;
  node->OnGossip(Gossip{.leaves = {{"m3", 1}, {"m4", 2}, {"m5", 9}}}, "m21",
                 kT0 + seconds(3), out);
  EXPECT_TRUE(node->left("m3"));
  EXPECT_FALSE(node->left("m4"));  // taken out at 3: a leave of 2 says nothing of it
  EXPECT_FALSE(node->left("m5"));  // nor one of 9, which raises nothing either
  node->ForEachTakenOut([](const std::string& id, std::uint64_t incarnation, bool) {
    if (id == "m5") {
      EXPECT_EQ(incarnation, 3u);
    }
  });
  EXPECT_TRUE(LeaveDestinations(out).empty());  // out of the view: not flooded
}

TEST_F(RejoinTest, ALeaveOfItselfOfAStrangerOrAt2To64Minus1IsIgnored) {
  const std::string subject = "m3";
  auto node = Make(ObserverOf(subject, 0));
  Outbox out;
  node->OnGossip(Gossip{.leaves = {{node->self(), 1}, {"stranger", 1}, {subject, UINT64_MAX}}},
                 "m20", kT0 + seconds(1), out);
  DropDigests(out);
  EXPECT_TRUE(out.gossip.empty());
  EXPECT_EQ(node->incarnation(), 1u);  // no report of itself to refute: nothing sent
  TakeOut(*node, subject, 1, kT0 + seconds(2));
  EXPECT_FALSE(node->left(subject));
}

TEST_F(RejoinTest, AMemberThatDoesNotWatchItFloodsTheLeaveButReportsNothing) {
  const std::string subject = "m3";
  std::string self;  // a member that is not an observer of the subject
  for (int i = 10; i < 40 && self.empty(); ++i) {
    const std::string id = "m" + std::to_string(i);
    bool observer = false;
    for (int slot = 0; slot < 8; ++slot) observer = observer || ObserverOf(subject, slot) == id;
    if (!observer && id != subject) self = id;
  }
  auto node = Make(self);
  auto neighbours = NeighboursOf(self);
  const std::string from = *neighbours.begin();
  Outbox out;
  node->OnGossip(Gossip{.leaves = {{subject, 1}}}, from, kT0 + seconds(1), out);
  node->Tick(kT0 + seconds(1) + MembershipOptions{}.pass_on_gather, out);
  neighbours.erase(from);  // not back to where it came from
  neighbours.erase(subject);
  EXPECT_EQ(LeaveDestinations(out), neighbours);
  EXPECT_TRUE(ReportsAbout(out, subject).empty());
}

TEST_F(RejoinTest, LeavesOfRisingIncarnationsFloodOncePerReportLifetime) {
  const std::string subject = "m3";
  auto node = Make("m20");
  Outbox out;
  const Duration gather = MembershipOptions{}.pass_on_gather;
  node->OnGossip(Gossip{.leaves = {{subject, 1}}}, "m21", kT0 + seconds(1), out);
  node->Tick(kT0 + seconds(1) + gather, out);
  EXPECT_FALSE(LeaveDestinations(out).empty());
  out.clear();
  node->OnGossip(Gossip{.leaves = {{subject, 2}, {subject, 3}}}, "m21", kT0 + seconds(2),
                 out);
  node->Tick(kT0 + seconds(2) + gather, out);
  EXPECT_TRUE(LeaveDestinations(out).empty());
  // Once the member shows a newer incarnation (it refuted a forged leave), its leave of
  // that incarnation is news again.
  node->OnGossip(Gossip{.alives = {{subject, 4}}}, "m21", kT0 + seconds(3), out);
  out.clear();
  node->OnGossip(Gossip{.leaves = {{subject, 4}}}, "m21", kT0 + seconds(3), out);
  node->Tick(kT0 + seconds(3) + gather, out);
  EXPECT_FALSE(LeaveDestinations(out).empty());
}

TEST_F(RejoinTest, ALeaveHeardLongerThanReportLifetimeBeforeTheRemovalIsDown) {
  const std::string subject = "m3";
  auto node = Make("m20");
  Outbox out;
  node->OnGossip(Gossip{.leaves = {{subject, 1}}}, "m21", kT0 + seconds(1), out);
  TakeOut(*node, subject, 1, kT0 + seconds(12));  // 11 s later: the leave is forgotten
  EXPECT_FALSE(node->left(subject));
}

TEST_F(RejoinTest, AListedLeftLabelsTheRemovalItCausesButIsNotNews) {
  const std::string subject = "m3";
  auto node = Make("m20");
  Outbox out;
  // Another member's answer to a Pull: it took the subject out, as left.
  const Gossip answer{.left = {{subject, 1}}, .censuses = {{false, 0, 255, 38}}};
  node->OnGossip(answer, "m21", kT0 + seconds(1), out);
  EXPECT_TRUE(LeaveDestinations(out).empty());
  EXPECT_TRUE(node->view().Find(subject).has_value());  // a dispute first
  for (int s = 2; s <= 8; ++s) node->Tick(kT0 + seconds(s), out);
  EXPECT_FALSE(node->view().Find(subject).has_value());
  EXPECT_TRUE(node->left(subject));
  EXPECT_EQ(node->disputes_lost(), 1u);
}

TEST_F(RejoinTest, AMemberStillJoiningSaysNothingWhenItLeaves) {
  MembershipOptions o;
  o.self = "joiner";
  o.seeds = {"m20"};
  MembershipNode joiner(o, source_, kT0);
  Outbox out;
  joiner.Leave(out);
  EXPECT_TRUE(out.gossip.empty());
}

TEST_F(RejoinTest, AStaleOrForgedLeaveIsVoidOnceTheMemberIsNewer) {
  const std::string subject = "m3";
  const std::string self = ObserverOf(subject, 0);
  auto node = Make(self);
  Outbox out;
  std::uint64_t sequence = 0;
  auto beat = [&](std::uint64_t incarnation, MonoTime at) {
    node->OnHeartbeat(subject, incarnation, ++sequence, at, out);
  };
  beat(5, kT0 + milliseconds(500));
  node->OnGossip(Gossip{.alives = {{subject, 6}}}, ObserverOf(subject, 2), kT0 + seconds(1),
                 out);
  out.clear();
  // Older than the refutation heard: stale, not passed on, nobody reported.
  node->OnGossip(Gossip{.leaves = {{subject, 5}}}, "m20", kT0 + seconds(1), out);
  DropDigests(out);
  EXPECT_TRUE(out.gossip.empty());
  // A leave of the current incarnation from a member that did not leave (forged): reported
  // once, which the member refutes as any report. While its heartbeats go on, the report is
  // not repeated, and it stays.
  node->OnGossip(Gossip{.leaves = {{subject, 6}}}, "m20", kT0 + seconds(2), out);
  EXPECT_EQ(ReportsAbout(out, subject).size(), 8u);  // 7 other observers and the subject
  out.clear();
  for (int s = 2; s <= 12; ++s) {
    beat(6, kT0 + seconds(s) + milliseconds(500));
    node->Tick(kT0 + seconds(s) + milliseconds(600), out);
  }
  EXPECT_TRUE(ReportsAbout(out, subject).empty());
  EXPECT_TRUE(node->view().Find(subject).has_value());
}

TEST_F(RejoinTest, APullIsAnsweredWithWhichTombstonesLeftAndAJoinerLearnsIt) {
  const std::string subject = "m3";
  auto node = Make("m20");
  Outbox out;
  node->OnGossip(Gossip{.leaves = {{subject, 1}}}, "m21", kT0 + seconds(1), out);
  TakeOut(*node, subject, 1, kT0 + seconds(2));
  TakeOut(*node, "m4", 1, kT0 + seconds(2));
  out.clear();
  node->OnGossip(Gossip{.pulls = {{0, 255}}}, "m30", kT0 + seconds(3), out);
  const Gossip& answer = out.To("m30");
  EXPECT_EQ(answer.removed, (std::vector<Alive>{{"m4", 1}}));
  EXPECT_EQ(answer.left, (std::vector<Alive>{{subject, 1}}));
  EXPECT_TRUE(answer.leaves.empty());  // not news
  // A joiner that copies the list copies the label.
  MembershipOptions o;
  o.self = "joiner";
  o.seeds = {"m20"};
  MembershipNode joiner(o, source_, kT0);
  Outbox joiner_out;
  joiner.OnGossip(answer, "m20", kT0 + seconds(3), joiner_out);
  EXPECT_TRUE(joiner.taken_out(subject) && joiner.left(subject));
  EXPECT_TRUE(joiner.taken_out("m4") && !joiner.left("m4"));
  // Learnt from the list, not decided here (docs/api.md, provenance "listing").
  const auto learnt = joiner.StatusOf("m4");
  ASSERT_TRUE(learnt);
  EXPECT_EQ(learnt->state, MemberState::kDown);
  EXPECT_EQ(learnt->provenance, Provenance::kListing);
  EXPECT_EQ(learnt->observers, 0);
  EXPECT_EQ(joiner.StatusOf(subject)->state, MemberState::kLeft);
  // This node's own removals are by agreement.
  EXPECT_EQ(node->StatusOf("m4")->provenance, Provenance::kAgreement);
}

}  // namespace
}  // namespace vigil::membership::testing_rejoin
