// Replays (docs/membership.md, "Replays"): ReplayGuard's rules, and a member that refuses
// datagrams recorded for another member or for an earlier run of its own, answers the
// unconfirmed ones with its incarnation, and echoes what it knows of each receiver.
#include <algorithm>
#include <string>
#include <vector>

#include "tests/membership/rejoin_fixture.h"

namespace vigil::membership::testing_rejoin {
namespace {

constexpr std::uint64_t kFirst = 500;  // the guard's first incarnation in this run
const MonoTime kNow = MonoTime{} + seconds(10);

TEST(ReplayGuard, TakesADatagramOnceWhenItEchoesThisRun) {
  ReplayGuard g(kFirst);
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 1, kFirst}, kFirst, kNow), Freshness::kFresh);
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 1, kFirst}, kFirst, kNow),
            Freshness::kOldSequence);
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 2, kFirst}, kFirst, kNow), Freshness::kFresh);
  // Any incarnation of this run from the first to the current one is this node's.
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 3, kFirst + 2}, kFirst + 3, kNow),
            Freshness::kFresh);
}

TEST(ReplayGuard, AnEchoOfAnotherRunOrOfNoneIsUnconfirmed) {
  ReplayGuard g(kFirst);
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 1, 0}, kFirst, kNow), Freshness::kUnconfirmed);
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 2, kFirst - 1}, kFirst, kNow),
            Freshness::kUnconfirmed);
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 3, kFirst + 1}, kFirst, kNow),
            Freshness::kUnconfirmed);  // an incarnation this node never had
  // An unconfirmed datagram leaves its number unseen: the sender, told the incarnation,
  // numbers its next datagrams on, and a copy with a good echo is not one it sent.
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 1, kFirst}, kFirst, kNow), Freshness::kFresh);
  // But its incarnation counts: one older than the sender stamped since is stale.
  EXPECT_EQ(g.Check(Stream::kHeartbeat, "a", {9, 1, 0}, kFirst, kNow),
            Freshness::kUnconfirmed);
  EXPECT_EQ(g.Heard("a"), 9u);
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 4, kFirst}, kFirst, kNow),
            Freshness::kOldSequence);
}

TEST(ReplayGuard, NumbersCountWithinTheSendersNewestIncarnationAndWindow) {
  ReplayGuard g(kFirst);
  const auto check = [&](std::uint64_t inc, std::uint64_t seq) {
    return g.Check(Stream::kGossip, "a", {inc, seq, kFirst}, kFirst, kNow);
  };
  EXPECT_EQ(check(7, 100), Freshness::kFresh);
  EXPECT_EQ(check(7, 90), Freshness::kFresh);  // late (reordered), not seen: taken
  EXPECT_EQ(check(7, 90), Freshness::kOldSequence);
  EXPECT_EQ(check(7, 36), Freshness::kOldSequence);  // 64 below the highest: cannot tell
  EXPECT_EQ(check(8, 1), Freshness::kFresh);         // a newer incarnation starts over
  EXPECT_EQ(check(7, 101), Freshness::kOldSequence);  // an older incarnation's is stale
  EXPECT_EQ(g.Heard("a"), 8u);
  EXPECT_EQ(g.Heard("z"), 0u);
}

TEST(ReplayGuard, HeartbeatsAndMembershipDatagramsAreNumberedApart) {
  ReplayGuard g(kFirst);
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 5, kFirst}, kFirst, kNow), Freshness::kFresh);
  EXPECT_EQ(g.Check(Stream::kHeartbeat, "a", {7, 5, kFirst}, kFirst, kNow), Freshness::kFresh);
  EXPECT_EQ(g.Check(Stream::kHeartbeat, "a", {7, 5, kFirst}, kFirst, kNow),
            Freshness::kOldSequence);
  EXPECT_EQ(g.Check(Stream::kGossip, "b", {7, 5, kFirst}, kFirst, kNow), Freshness::kFresh);
}

TEST(ReplayGuard, AnswersASenderOncePerPeriod) {
  ReplayGuard g(kFirst);
  EXPECT_TRUE(g.MayAnswer("a", kNow, seconds(5)));
  EXPECT_FALSE(g.MayAnswer("a", kNow + seconds(4), seconds(5)));
  EXPECT_TRUE(g.MayAnswer("b", kNow + seconds(4), seconds(5)));
  EXPECT_TRUE(g.MayAnswer("a", kNow + seconds(5), seconds(5)));
}

TEST(ReplayGuard, ForgetsOnlyMembersNotKeptAndIdleForTheWholePeriod) {
  ReplayGuard g(kFirst);
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 1, kFirst}, kFirst, kNow), Freshness::kFresh);
  EXPECT_EQ(g.Check(Stream::kGossip, "b", {7, 1, kFirst}, kFirst, kNow), Freshness::kFresh);
  const auto keep_b = [](const std::string& id) { return id == "b"; };
  g.Prune(keep_b, kNow + seconds(59), seconds(60));  // "a" heard a minute ago: kept
  EXPECT_EQ(g.size(), 2u);
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 1, kFirst}, kFirst, kNow),
            Freshness::kOldSequence);
  g.Prune(keep_b, kNow + seconds(60), seconds(60));
  EXPECT_EQ(g.size(), 1u);
  EXPECT_EQ(g.Heard("a"), 0u);
  // Forgotten: its numbers are no longer known (the limit docs/membership.md states).
  EXPECT_EQ(g.Check(Stream::kGossip, "a", {7, 1, kFirst}, kFirst, kNow), Freshness::kFresh);
}

TEST(ReplayGuard, NumbersEachReceiversDatagramsInTurnAndNeverTwice) {
  ReplayGuard g(kFirst);
  EXPECT_EQ(g.NextNumber("a"), 1u);
  g.Numbered("a", 3, kNow);  // 1, 2, 3
  EXPECT_EQ(g.NextNumber("a"), 4u);
  EXPECT_EQ(g.NextNumber("b"), 4u);  // above every number given
  g.Numbered("b", 100, kNow);        // 4 .. 103: "a" does not see them
  EXPECT_EQ(g.NextNumber("a"), 4u);
  g.Numbered("a", 1, kNow);
  // Forgotten, "a" starts above every number given, not over from 1; so does one that
  // this node heard from before it sent it anything.
  const auto keep_b = [](const std::string& id) { return id == "b"; };
  g.Prune(keep_b, kNow + seconds(1), seconds(1));
  EXPECT_EQ(g.NextNumber("a"), 105u);
  EXPECT_EQ(g.NextNumber("b"), 104u);
  EXPECT_EQ(g.Check(Stream::kGossip, "c", {7, 1, kFirst}, kFirst, kNow), Freshness::kFresh);
  EXPECT_EQ(g.NextNumber("c"), 105u);
}

// A member of the 40-member view at `incarnation` (the fixture's are at 1).
std::unique_ptr<MembershipNode> MakeAt(RejoinTest& t, const std::string& self,
                                       std::uint64_t incarnation) {
  MembershipOptions o;
  o.self = self;
  o.incarnation = incarnation;
  return std::make_unique<MembershipNode>(o, t.graph_, t.source_, kT0);
}

TEST_F(RejoinTest, AnObserverTakesEachHeartbeatOnceAndOnlyThoseMeantForIt) {
  const std::string subject = "m3";
  const std::string self = ObserverOf(subject, 0);
  auto node = MakeAt(*this, self, 500);
  Outbox out;
  MonoTime t = kT0 + milliseconds(100);
  EXPECT_EQ(node->ReceiveHeartbeat(subject, {1, 1, 500}, t, out), Freshness::kFresh);
  EXPECT_EQ(node->ReceiveHeartbeat(subject, {1, 1, 500}, t, out), Freshness::kOldSequence);
  EXPECT_EQ(node->refused(Stream::kHeartbeat, Freshness::kOldSequence), 1u);
  EXPECT_TRUE(out.gossip.empty());
  // Meant for an earlier run of this observer: refused, and answered with its Alive so
  // that the sender echoes 500 from now on.
  EXPECT_EQ(node->ReceiveHeartbeat(subject, {1, 2, 7}, t, out), Freshness::kUnconfirmed);
  ASSERT_EQ(out.gossip.size(), 1u);
  EXPECT_EQ(out.gossip[0].first, subject);
  EXPECT_EQ(out.gossip[0].second.alives, (std::vector<Alive>{{self, 500}}));
  EXPECT_EQ(node->unconfirmed_answered(), 1u);
  out.clear();
  // Not again within 500 ms, whatever the sender sends.
  EXPECT_EQ(node->ReceiveHeartbeat(subject, {1, 3, 0}, t + milliseconds(400), out),
            Freshness::kUnconfirmed);
  EXPECT_TRUE(out.gossip.empty());
  EXPECT_EQ(node->refused(Stream::kHeartbeat, Freshness::kUnconfirmed), 2u);
  EXPECT_EQ(node->ReceiveHeartbeat(subject, {1, 4, 0}, t + milliseconds(500), out),
            Freshness::kUnconfirmed);
  EXPECT_EQ(Destinations(out), std::set<std::string>{subject});
  // The number of a refused heartbeat was not used up.
  out.clear();
  EXPECT_EQ(node->ReceiveHeartbeat(subject, {1, 2, 500}, t + seconds(6), out),
            Freshness::kFresh);
}

TEST_F(RejoinTest, AnEchoAboveItsIncarnationMakesAMemberRefuteAboveIt) {
  // An earlier run of m7 got as far as 900 (this run's clock started lower).
  auto node = MakeAt(*this, "m7", 500);
  Outbox out;
  EXPECT_EQ(node->ReceiveGossip(Gossip{.digests = {Digest{}}}, "m1", {1, 1, 900}, kT0, out),
            Freshness::kUnconfirmed);
  EXPECT_EQ(node->incarnation(), 901u);
  EXPECT_EQ(node->refutations(), 1u);
  EXPECT_TRUE(Destinations(out).contains("m1"));
  // From now on, what echoes 901 is this node's; not what echoes that earlier run, nor
  // this run before it refuted.
  EXPECT_EQ(node->ReceiveGossip(Gossip{.digests = {Digest{}}}, "m1", {1, 2, 901}, kT0, out),
            Freshness::kFresh);
  EXPECT_EQ(node->ReceiveGossip(Gossip{.digests = {Digest{}}}, "m1", {1, 3, 900}, kT0, out),
            Freshness::kUnconfirmed);
  EXPECT_EQ(node->ReceiveGossip(Gossip{.digests = {Digest{}}}, "m1", {1, 4, 500}, kT0, out),
            Freshness::kUnconfirmed);
}

TEST_F(RejoinTest, AJoinEchoesTheSeedOnceItsAnswerTellsItAndIsTakenThereOnly) {
  auto seed = MakeAt(*this, "m0", 40);
  Outbox out;
  const Alive join{"newcomer", 77, ""};
  // Its first Join echoes nothing (it knows the seed by its address alone): answered.
  EXPECT_EQ(seed->ReceiveGossip(Gossip{.joins = {join}}, "newcomer", {77, 1, 0}, kT0, out),
            Freshness::kUnconfirmed);
  EXPECT_EQ(seed->joins_answered(), 0u);
  ASSERT_EQ(Destinations(out), std::set<std::string>{"newcomer"});
  const Gossip answer = out.gossip[0].second;
  EXPECT_EQ(answer.alives, (std::vector<Alive>{{"m0", 40}}));
  // The joiner takes the answer and asks that member again at once, with the echo.
  MembershipOptions o;
  o.self = "newcomer";
  o.incarnation = 77;
  o.seeds = {"m0"};
  MembershipNode joiner(o, source_, kT0);
  EXPECT_EQ(joiner.EchoFor("m0"), 0u);
  Outbox joiner_out;
  EXPECT_EQ(joiner.ReceiveGossip(answer, "m0", seed->StampFor("newcomer"), kT0, joiner_out),
            Freshness::kFresh);
  EXPECT_EQ(joiner.EchoFor("m0"), 40u);
  ASSERT_TRUE(Destinations(joiner_out).contains("m0"));
  const Gossip again = Gossip{.joins = {join}};
  EXPECT_EQ(std::find_if(joiner_out.gossip.begin(), joiner_out.gossip.end(),
                         [](const auto& g) { return g.first == "m0"; })
                ->second.joins,
            again.joins);
  const Stamp stamp = joiner.StampFor("m0");
  out.clear();
  EXPECT_EQ(seed->ReceiveGossip(again, "newcomer", stamp, kT0, out), Freshness::kFresh);
  EXPECT_EQ(seed->joins_answered(), 1u);  // welcomed
  // Sent again, it is seen; sent to another member, it echoes the seed, not that member.
  EXPECT_EQ(seed->ReceiveGossip(again, "newcomer", stamp, kT0, out), Freshness::kOldSequence);
  auto other = MakeAt(*this, "m5", 41);
  Outbox other_out;
  EXPECT_EQ(other->ReceiveGossip(again, "newcomer", stamp, kT0, other_out),
            Freshness::kUnconfirmed);
  EXPECT_EQ(other->joins_answered(), 0u);
}

TEST_F(RejoinTest, AReportRecordedBeforeARestartIsRefusedAndTheReporterLearnsTheNewRun) {
  // m3 ran at incarnation 1; it runs again at 900 000 (a restart), with the same view.
  const std::string subject = "m3";
  const std::string observer = ObserverOf(subject, 0);
  MembershipOptions o;
  o.self = subject;
  o.incarnation = 900'000;
  MembershipNode restarted(o, graph_, source_, kT0);
  Outbox out;
  const Gossip report{.reports = {{observer, subject, 1, 1}}};
  EXPECT_EQ(restarted.ReceiveGossip(report, observer, {1, 40, 1}, kT0, out),
            Freshness::kUnconfirmed);
  EXPECT_EQ(restarted.refutations(), 0u);  // not taken: nothing to refute
  ASSERT_EQ(Destinations(out), std::set<std::string>{observer});
  const Gossip answer = out.gossip[0].second;
  // The observer takes the answer (it echoes the observer's incarnation, 1) and echoes
  // the new run from then on.
  auto reporter = Make(observer);
  EXPECT_EQ(reporter->EchoFor(subject), 1u);
  Outbox reporter_out;
  EXPECT_EQ(reporter->ReceiveGossip(answer, subject,
                                    {900'000, 1, restarted.EchoFor(observer)}, kT0,
                                    reporter_out),
            Freshness::kFresh);
  EXPECT_EQ(reporter->EchoFor(subject), 900'000u);
  // ... and what it sends now is taken.
  out.clear();
  EXPECT_EQ(restarted.ReceiveGossip(report, observer, {1, 41, 900'000}, kT0, out),
            Freshness::kFresh);
  EXPECT_EQ(restarted.refutations(), 1u);
}

TEST_F(RejoinTest, AMemberEchoesTheIncarnationsItKnows) {
  auto node = Make("m0");
  EXPECT_EQ(node->EchoFor("m5"), 1u);         // in the view given at the start
  EXPECT_EQ(node->EchoFor("seed:0"), 0u);     // never heard of
  EXPECT_EQ(node->EchoFor("m0"), 1u);         // itself
  Outbox out;
  node->OnGossip(Gossip{.alives = {{"m5", 40}}}, "m5", kT0, out);  // m5 refuted
  EXPECT_EQ(node->EchoFor("m5"), 40u);
  // Taken out, a member is still told things (notices, probes): at the incarnation taken
  // out.
  TakeOut(*node, "m9", 3, kT0 + seconds(2));
  EXPECT_EQ(node->EchoFor("m9"), 3u);
}

}  // namespace
}  // namespace vigil::membership::testing_rejoin
