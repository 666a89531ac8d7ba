// MembershipNode joining (docs/membership.md, "Joining" and "Anti-entropy"): a Join is
// welcomed and flooded, a Pull is answered with exactly its buckets, a joiner asks its seeds
// in turn with growing delays, copies the list a slice at a time and applies it at once,
// starts alone when nobody answers, and two members whose lists differ repair them.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "membership/membership_node.h"

namespace vigil::membership {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const MonoTime kT0 = MonoTime{} + seconds(1000);

std::vector<std::string> Ids(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back("m" + std::to_string(i));
  return ids;
}

class JoinTest : public ::testing::Test {
 public:
  std::unique_ptr<MembershipNode> Member(const std::string& self,
                                         const std::vector<std::string>& ids,
                                         MembershipOptions o = {}) {
    o.self = self;
    if (!graph_ || graph_->size() != ids.size()) {
      graph_ = std::make_shared<const ObserverGraph>(ObserverGraph::Build(ids, 8));
    }
    return std::make_unique<MembershipNode>(o, graph_, source_, kT0);
  }
  std::unique_ptr<MembershipNode> Joiner(const std::string& self,
                                         std::vector<std::string> seeds,
                                         MembershipOptions o = {}) {
    o.self = self;
    o.seeds = std::move(seeds);
    o.incarnation = 5000;
    return std::make_unique<MembershipNode>(o, source_, kT0);
  }
  // Delivers everything in `out` (from `from`) among `nodes`, and what that sends, until
  // nothing is left, all at `now`; what goes to a node not in `nodes` is dropped. Returns
  // the gossip each destination got, in order.
  static std::vector<std::pair<std::string, Gossip>> Deliver(
      std::map<std::string, MembershipNode*> nodes, std::string from, Outbox out,
      MonoTime now) {
    std::vector<std::pair<std::string, Gossip>> seen;
    std::vector<std::pair<std::string, Outbox>> queue{{from, std::move(out)}};
    while (!queue.empty()) {
      auto [sender, box] = std::move(queue.back());
      queue.pop_back();
      for (auto& [to, gossip] : box.gossip) {
        seen.emplace_back(to, gossip);
        const auto it = nodes.find(to);
        if (it == nodes.end()) continue;
        Outbox reply;
        it->second->OnGossip(gossip, sender, now, reply);
        queue.emplace_back(to, std::move(reply));
      }
    }
    return seen;
  }
  GraphSource source_;
  std::shared_ptr<const ObserverGraph> graph_;
};

TEST_F(JoinTest, AJoinIsWelcomedAndFloodedAndAdmittedAfterTheBatch) {
  const auto ids = Ids(40);
  auto member = Member("m0", ids);
  Outbox out;
  member->OnGossip(Gossip{.joins = {{"new", 77}}}, "new", kT0, out);
  EXPECT_EQ(member->joins_answered(), 1u);
  const Gossip& welcome = out.To("new");
  ASSERT_EQ(welcome.censuses.size(), 1u);
  EXPECT_TRUE(welcome.censuses[0].welcome);
  EXPECT_EQ(welcome.censuses[0].count, 41u);  // the 40 and the joiner, admitted
  ASSERT_FALSE(welcome.members.empty());
  EXPECT_EQ(welcome.members[0], (Alive{"m0", 1}));
  std::set<std::string> sampled;
  for (const Alive& m : welcome.members) sampled.insert(m.member);
  EXPECT_EQ(sampled.size(), welcome.members.size());
  EXPECT_EQ(sampled.size(), 16u);
  EXPECT_FALSE(sampled.contains("new"));
  out.clear();
  member->Tick(kT0 + MembershipOptions{}.pass_on_gather, out);
  std::size_t told = 0;
  for (const auto& [to, g] : out.gossip) {
    told += std::count(g.alives.begin(), g.alives.end(), Alive{"new", 77}) > 0 ? 1 : 0;
  }
  EXPECT_EQ(told, member->view().NeighboursOf(*member->view().Find("m0")).size());
  EXPECT_FALSE(member->view().Find("new"));
  member->Tick(kT0 + MembershipOptions{}.admission_batch, out);
  EXPECT_TRUE(member->view().Find("new"));
  EXPECT_EQ(member->view().size(), 41u);
}

TEST_F(JoinTest, AJoinForAnotherIdIsIgnored) {
  auto member = Member("m0", Ids(10));
  Outbox out;
  member->OnGossip(Gossip{.joins = {{"new", 77}}}, "m3", kT0, out);
  EXPECT_TRUE(out.gossip.empty());
  EXPECT_EQ(member->joins_answered(), 0u);
}

TEST_F(JoinTest, APullIsAnsweredWithExactlyItsBucketsAndTheirTombstones) {
  const auto ids = Ids(300);
  auto member = Member("m0", ids);
  Outbox out;
  const Pull pull{40, 99};
  member->OnGossip(Gossip{.pulls = {pull}}, "m7", kT0, out);
  const Gossip& answer = out.To("m7");
  std::set<std::string> expected, listed;
  for (const std::string& id : ids) {
    if (BucketOf(id) >= pull.first && BucketOf(id) <= pull.last) expected.insert(id);
  }
  for (const Alive& m : answer.members) listed.insert(m.member);
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(answer.members.size(), expected.size());
  ASSERT_EQ(answer.censuses.size(), 1u);
  const auto count = static_cast<std::uint32_t>(expected.size());
  EXPECT_EQ(answer.censuses[0], (Census{false, 40, 99, count}));
  EXPECT_TRUE(answer.removed.empty());
  EXPECT_EQ(member->pulls_answered(), 1u);
}

TEST_F(JoinTest, ListingsBeyondTheRateAreRefusedUntilTheNextSecond) {
  MembershipOptions o;
  o.listings_per_second = 2;
  auto member = Member("m0", Ids(10), o);
  Outbox out;
  for (int i = 0; i < 3; ++i) member->OnGossip(Gossip{.pulls = {{0, 255}}}, "m1", kT0, out);
  EXPECT_EQ(member->pulls_answered(), 2u);
  EXPECT_EQ(member->listings_refused(), 1u);
  member->OnGossip(Gossip{.joins = {{"new", 3}}}, "new", kT0 + milliseconds(900), out);
  EXPECT_EQ(member->joins_answered(), 0u);
  member->OnGossip(Gossip{.joins = {{"new", 3}}}, "new", kT0 + milliseconds(1000), out);
  EXPECT_EQ(member->joins_answered(), 1u);
}

TEST_F(JoinTest, AJoinerAsksItsSeedsInTurnWithGrowingDelays) {
  auto joiner = Joiner("j", {"s1", "j", "s2"});
  EXPECT_FALSE(joiner->welcomed());
  EXPECT_TRUE(joiner->syncing());
  std::vector<std::string> asked;
  std::vector<double> at;
  MonoTime t = kT0;
  for (int i = 0; i < 50 && asked.size() < 6; ++i) {
    Outbox out;
    joiner->Tick(t, out);
    for (const auto& [to, g] : out.gossip) {
      if (g.joins.empty()) continue;
      EXPECT_EQ(g.joins, (std::vector<Alive>{{"j", 5000}}));
      asked.push_back(to);
      at.push_back(std::chrono::duration<double>(t - kT0).count());
    }
    t = joiner->NextWakeup();
  }
  EXPECT_EQ(asked, (std::vector<std::string>{"s1", "s2", "s1", "s2", "s1", "s2"}));
  // Both seeds 1 s apart, then both 2 s apart, then 4 s: each +-20 %.
  const std::vector<double> gaps = {1, 1, 2, 2, 4};
  ASSERT_EQ(at.size(), 6u);
  for (std::size_t i = 0; i < gaps.size(); ++i) {
    EXPECT_GE(at[i + 1] - at[i], gaps[i] * 0.8 - 1e-9) << i;
    EXPECT_LE(at[i + 1] - at[i], gaps[i] * 1.2 + 1e-9) << i;
  }
  // Nobody answered within join_patience (3 s): it started alone, and still asks.
  EXPECT_FALSE(joiner->syncing());
  EXPECT_EQ(joiner->view().size(), 1u);
}

TEST_F(JoinTest, AJoinerCopiesTheListAndAppliesItWhole) {
  const auto ids = Ids(600);
  std::vector<std::unique_ptr<MembershipNode>> members;
  std::map<std::string, MembershipNode*> nodes;
  for (const std::string& id : ids) {
    members.push_back(Member(id, ids));
    nodes[id] = members.back().get();
  }
  auto joiner = Joiner("j", {"m0"});
  nodes["j"] = joiner.get();
  MonoTime t = kT0;
  for (int step = 0; step < 40 && (joiner->syncing() || !joiner->view().Find("m599")); ++step) {
    Outbox out;
    joiner->Tick(t, out);
    // Only the joiner's own messages and the answers: the members' ticks are not run.
    Deliver(nodes, "j", std::move(out), t);
    t += milliseconds(100);
  }
  EXPECT_TRUE(joiner->welcomed());
  EXPECT_FALSE(joiner->syncing());
  EXPECT_EQ(joiner->view().size(), 601u);
  // 601 members in ranges of about 200: at least 3 pulls, none retried (nothing was lost).
  EXPECT_GE(joiner->sync().pulls_sent(), 3u);
  EXPECT_EQ(joiner->sync().pulls_retried(), 0u);
}

// Every pull in `out`, to whomever.
std::vector<Pull> AllPulls(const Outbox& out) {
  std::vector<Pull> pulls;
  for (const auto& [to, g] : out.gossip) pulls.insert(pulls.end(), g.pulls.begin(), g.pulls.end());
  std::sort(pulls.begin(), pulls.end(),
            [](const Pull& a, const Pull& b) { return a.first < b.first; });
  return pulls;
}

// An id whose bucket is in first .. last.
std::string IdInBuckets(std::uint8_t first, std::uint8_t last) {
  for (int i = 0;; ++i) {
    std::string id = "x" + std::to_string(i);
    if (BucketOf(id) >= first && BucketOf(id) <= last) return id;
  }
}

TEST_F(JoinTest, AnAnswerCutShortIsPulledAgainInHalvesAfterTheTimeout) {
  auto joiner = Joiner("j", {"s"});
  Outbox out;
  joiner->Tick(kT0, out);
  out.clear();
  joiner->OnGossip(Gossip{.members = {{"s", 1}}, .censuses = {{true, 0, 255, 1000}}}, "s", kT0,
                   out);
  // 1,000 members: ranges of 51 buckets (about 200 members), 4 at a time, all to the one
  // member it knows.
  EXPECT_EQ(out.To("s").pulls, (std::vector<Pull>{{0, 50}, {51, 101}, {102, 152}, {153, 203}}));
  out.clear();
  const std::string lost = IdInBuckets(0, 50);
  joiner->OnGossip(Gossip{.members = {{lost, 1}}, .censuses = {{false, 0, 50, 2}}}, "s", kT0,
                   out);
  for (const Pull p : {Pull{51, 101}, Pull{102, 152}, Pull{153, 203}}) {
    joiner->OnGossip(Gossip{.censuses = {{false, p.first, p.last, 0}}}, "s", kT0, out);
  }
  // The three answered in full made room for the last two ranges (to "s", or to the member
  // it has just learnt).
  EXPECT_EQ(AllPulls(out), (std::vector<Pull>{{204, 254}, {255, 255}}));
  EXPECT_EQ(joiner->sync().pulls_retried(), 0u);
  out.clear();
  joiner->Tick(kT0 + seconds(1), out);
  EXPECT_EQ(joiner->sync().pulls_retried(), 3u);  // the short one, and the last two unanswered
  // Each cut in two; four at a time: the fifth, 26..50, waits for room.
  EXPECT_EQ(AllPulls(out), (std::vector<Pull>{{0, 25}, {204, 229}, {230, 254}, {255, 255}}));
  std::string asked_255;
  for (const auto& [id, g] : out.gossip) {
    if (std::find(g.pulls.begin(), g.pulls.end(), Pull{255, 255}) != g.pulls.end()) asked_255 = id;
  }
  out.clear();
  joiner->OnGossip(Gossip{.censuses = {{false, 255, 255, 0}}}, asked_255, kT0 + seconds(1), out);
  EXPECT_EQ(AllPulls(out), (std::vector<Pull>{{26, 50}}));
  EXPECT_TRUE(joiner->syncing());
}

TEST_F(JoinTest, AListedTombstoneKeepsAJoinerFromAdmittingTheDead) {
  auto joiner = Joiner("j", {"s"});
  Outbox out;
  joiner->Tick(kT0, out);
  out.clear();
  joiner->OnGossip(Gossip{.members = {{"s", 1}}, .censuses = {{true, 0, 255, 2}}}, "s", kT0,
                   out);
  ASSERT_EQ(out.To("s").pulls, (std::vector<Pull>{{0, 255}}));
  out.clear();
  joiner->OnGossip(Gossip{.members = {{"s", 1}, {"y", 4}},
                          .removed = {{"x", 7}},
                          .censuses = {{false, 0, 255, 2}}},
                   "s", kT0, out);
  EXPECT_FALSE(joiner->syncing());
  EXPECT_EQ(joiner->view().members().size(), 3u);
  EXPECT_FALSE(joiner->view().Find("x"));
  EXPECT_EQ(joiner->tombstone_count(), 1u);
  joiner->OnGossip(Gossip{.members = {{"x", 7}}}, "s", kT0 + seconds(1), out);
  joiner->Tick(kT0 + seconds(2), out);
  EXPECT_FALSE(joiner->view().Find("x"));  // not newer than it was taken out at
  joiner->OnGossip(Gossip{.members = {{"x", 8}}}, "s", kT0 + seconds(3), out);
  joiner->Tick(kT0 + seconds(4), out);
  EXPECT_TRUE(joiner->view().Find("x"));
}

TEST_F(JoinTest, AHeartbeatFromAnUnknownMemberAdmitsItAndTellsTheCluster) {
  auto member = Member("m0", Ids(10));
  Outbox out;
  member->OnHeartbeat("stranger", 9, 1, kT0, out);
  member->Tick(kT0 + MembershipOptions{}.pass_on_gather, out);
  std::size_t told = 0;
  for (const auto& [to, g] : out.gossip) {
    told += std::count(g.alives.begin(), g.alives.end(), Alive{"stranger", 9}) > 0 ? 1 : 0;
  }
  EXPECT_GT(told, 0u);
  member->Tick(kT0 + MembershipOptions{}.admission_batch, out);
  EXPECT_TRUE(member->view().Find("stranger"));
}

// The first digest `node` sends (to whomever), by ticking it at its wake-ups.
Digest FirstDigest(MembershipNode& node, MonoTime& t) {
  for (int i = 0; i < 100; ++i) {
    Outbox out;
    node.Tick(t, out);
    for (const auto& [to, g] : out.gossip) {
      if (!g.digests.empty()) return g.digests[0];
    }
    t = node.NextWakeup();
  }
  ADD_FAILURE() << "no digest";
  return {};
}

TEST_F(JoinTest, TwoMembersWhoseListsDifferRepairThemBothWays) {
  auto ids = Ids(50);
  auto a = Member("m0", ids);
  ids.pop_back();  // m49
  ids.push_back("extra");
  graph_.reset();
  auto b = Member("m1", ids);
  MonoTime t = kT0;
  const Digest digest = FirstDigest(*a, t);
  Outbox out;
  b->OnGossip(Gossip{.digests = {digest}}, "m0", t, out);
  EXPECT_EQ(b->digest_mismatches(), 1u);
  ASSERT_EQ(out.To("m0").summaries.size(), 2u);  // buckets 0..127 and 128..255
  Deliver({{"m0", a.get()}, {"m1", b.get()}}, "m1", std::move(out), t);
  Outbox later;
  a->Tick(t + seconds(1), later);
  b->Tick(t + seconds(1), later);
  EXPECT_TRUE(a->view().Find("extra"));
  EXPECT_TRUE(b->view().Find("m49"));
  EXPECT_EQ(a->view().size(), 51u);
  EXPECT_EQ(b->view().size(), 51u);
  // Now alike: a digest is answered with nothing.
  t += seconds(1);
  const Digest same = FirstDigest(*a, t);
  Outbox quiet;
  b->OnGossip(Gossip{.digests = {same}}, "m0", t, quiet);
  EXPECT_TRUE(quiet.To("m0").summaries.empty());
  EXPECT_EQ(b->digest_mismatches(), 1u);
}

TEST_F(JoinTest, TwoPullsInOneOutboxAreEachAnsweredInFull) {
  const auto ids = Ids(2000);
  auto member = Member("m0", ids);
  Outbox out;
  // About 400 members each: two answers of up to 512 to the same member, not 512 together.
  member->OnGossip(Gossip{.pulls = {{0, 50}, {51, 101}}}, "m7", kT0, out);
  std::size_t expected = 0;
  for (const std::string& id : ids) expected += BucketOf(id) <= 101 ? 1 : 0;
  ASSERT_GT(expected, kMostListed);
  EXPECT_EQ(out.To("m7").members.size(), expected);
  const auto& censuses = out.To("m7").censuses;
  ASSERT_EQ(censuses.size(), 2u);
  EXPECT_EQ(censuses[0].count + censuses[1].count, expected);
}

TEST_F(JoinTest, ALearntTombstoneIsKeptButNotListedOnAndTheirNumberIsBounded) {
  MembershipOptions o;
  o.most_tombstones = 2;
  auto member = Member("m0", Ids(10), o);
  Outbox out;
  member->OnGossip(Gossip{.removed = {{"x1", 3}, {"x2", 3}, {"x3", 3}}}, "m1", kT0, out);
  EXPECT_EQ(member->tombstone_count(), 2u);
  EXPECT_EQ(member->tombstones_refused(), 1u);
  member->OnGossip(Gossip{.members = {{"x1", 3}}}, "m2", kT0, out);  // not newer: stays out
  member->Tick(kT0 + seconds(1), out);
  EXPECT_FALSE(member->view().Find("x1"));
  out.clear();
  member->OnGossip(Gossip{.pulls = {{0, 255}}}, "m7", kT0 + seconds(2), out);
  EXPECT_TRUE(out.To("m7").removed.empty());
}

}  // namespace
}  // namespace vigil::membership
