// MembershipNode (docs/membership.md, "Coming back"): members out at the same time miss each
// other's floods, so a member added back is told by its new neighbours who else came back
// lately: bounded, and never a member taken out again since.
#include <set>
#include <string>
#include <vector>

#include "tests/membership/rejoin_fixture.h"

namespace vigil::membership::testing_rejoin {
namespace {

// An observer of m30 that took out m30 and another member; the other came back at
// incarnation 3 at kT0 + 6 s. Returns the node and the other member.
std::pair<std::unique_ptr<MembershipNode>, std::string> OneOfTwoBack(RejoinTest& t) {
  const std::string self = t.ObserverOf("m30", 7);
  std::string other = self == "m31" ? "m32" : "m31";
  for (int slot = 0; slot < 5; ++slot) EXPECT_NE(t.ObserverOf(other, slot), "m30");
  auto node = t.Make(self);
  t.TakeOut(*node, "m30", 1, kT0 + seconds(2));
  t.TakeOut(*node, other, 1, kT0 + seconds(4));
  Outbox out;
  node->OnGossip(Gossip{{}, {{other, 3}}}, "m1", kT0 + seconds(5), out);
  node->Tick(kT0 + seconds(6), out);
  return {std::move(node), other};
}

// What `out` tells `to` of members that came back.
std::vector<Alive> AlivesTo(const Outbox& out, const std::string& to) {
  for (const auto& [id, gossip] : out.gossip) {
    if (id == to) return gossip.alives;
  }
  return {};
}

// Members out at the same time miss each other's floods: whoever adds one back and now
// neighbours it tells it who else came back lately.
TEST_F(RejoinTest, AMemberAddedBackIsToldWhoElseCameBackLately) {
  auto [node, other] = OneOfTwoBack(*this);
  Outbox out;
  node->OnGossip(Gossip{{}, {{"m30", 2}}}, "m1", kT0 + seconds(7), out);
  out.clear();
  node->Tick(kT0 + seconds(8), out);  // m30 is back, and neighbours this node again
  EXPECT_EQ(AlivesTo(out, "m30"), (std::vector<Alive>{{other, 3}}));
  // Not once the news is older than report_lifetime (10 s).
  TakeOut(*node, "m30", 2, kT0 + seconds(20));
  node->OnGossip(Gossip{{}, {{"m30", 3}}}, "m1", kT0 + seconds(21), out);
  out.clear();
  node->Tick(kT0 + seconds(22), out);
  ASSERT_TRUE(node->view().Find("m30").has_value());
  EXPECT_TRUE(AlivesTo(out, "m30").empty());
}

// A member that came back and was taken out again since is not told about: it died.
TEST_F(RejoinTest, AMemberAddedBackIsNotToldOfOneTakenOutAgain) {
  auto [node, other] = OneOfTwoBack(*this);
  TakeOut(*node, other, 3, kT0 + seconds(8));
  Outbox out;
  node->OnGossip(Gossip{{}, {{"m30", 2}}}, "m1", kT0 + seconds(9), out);
  out.clear();
  node->Tick(kT0 + seconds(10), out);
  ASSERT_TRUE(node->view().Find("m30").has_value());
  EXPECT_TRUE(AlivesTo(out, "m30").empty());
}

// What a member added back is told is bounded: of the latest 64 to come back.
TEST_F(RejoinTest, AMemberAddedBackIsToldOfTheLatest64AtMost) {
  std::vector<std::string> ids;
  for (int i = 0; i < 120; ++i) ids.push_back("m" + std::to_string(i));
  const auto big = std::make_shared<const ObserverGraph>(ObserverGraph::Build(ids, 8));
  MembershipOptions o;
  o.self = "m0";
  MembershipNode node(o, big, source_, kT0);
  std::set<std::string> neighbours;
  for (MemberIndex n : big->NeighboursOf(*big->Find("m0"))) neighbours.insert(big->id(n));
  const std::string last = *neighbours.begin();  // comes back last
  std::vector<std::string> out_first;            // 70 that are not neighbours of m0
  for (const std::string& id : ids) {
    if (id != "m0" && !neighbours.contains(id) && out_first.size() < 70) out_first.push_back(id);
  }
  ASSERT_EQ(out_first.size(), 70u);
  // All 71 taken out in one cut: H of each one's observers report it.
  Outbox out;
  std::vector<std::string> gone = out_first;
  gone.push_back(last);
  for (const std::string& id : gone) {
    for (int slot = 0; slot < 5; ++slot) {
      const std::string observer = big->id(big->ObserversOf(*big->Find(id))[slot]);
      node.OnGossip(Gossip{{{observer, id, 1, 1}}, {}}, observer, kT0 + seconds(1), out);
    }
  }
  node.Tick(kT0 + seconds(2), out);
  ASSERT_EQ(node.view().size(), 120u - 71u);
  Gossip back;
  for (const std::string& id : out_first) back.alives.push_back({id, 2});
  node.OnGossip(back, "m0", kT0 + seconds(3), out);
  node.Tick(kT0 + seconds(4), out);
  node.OnGossip(Gossip{{}, {{last, 2}}}, "m0", kT0 + seconds(5), out);
  out.clear();
  node.Tick(kT0 + seconds(6), out);
  ASSERT_EQ(node.view().size(), 120u);
  std::vector<Alive> told;
  for (const auto& [to, gossip] : out.gossip) {
    if (to == last) told = gossip.alives;
  }
  // The latest 64 are the last 63 of the first 70 and `last` itself, which is not told.
  ASSERT_EQ(told.size(), 63u);
  EXPECT_EQ(told.front().member, out_first[7]);
  EXPECT_EQ(told.back().member, out_first[69]);
}

}  // namespace
}  // namespace vigil::membership::testing_rejoin
