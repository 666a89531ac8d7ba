// MembershipNode disputes (docs/membership.md, "Anti-entropy"): a listing that says a member
// this node holds was taken out makes it ask that member; silence takes it out here, a newer
// incarnation (refuted, or heard by this node's own detector) keeps it.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "membership/membership_node.h"

namespace vigil::membership {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const MonoTime kT0 = MonoTime{} + seconds(1000);

class DisputeTest : public ::testing::Test {
 public:
  DisputeTest() {
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) ids.push_back("m" + std::to_string(i));
    graph_ = std::make_shared<const ObserverGraph>(ObserverGraph::Build(ids, 8));
    MembershipOptions o;
    o.self = "m0";
    node_ = std::make_unique<MembershipNode>(o, graph_, source_, kT0);
    node_->set_on_removed([this](const std::string& id, MonoTime) { removed_.push_back(id); });
  }
  // The notices (reports about itself) `out` sends `member`.
  static std::vector<Report> NoticesTo(Outbox& out, const std::string& member) {
    std::vector<Report> notices;
    for (const Report& r : out.To(member).reports) {
      if (r.subject == member) notices.push_back(r);
    }
    return notices;
  }
  // A member m0 does not watch, and one it does.
  std::string NotWatched() const {
    for (const std::string& id : graph_->members()) {
      if (id != "m0" && graph_->ObserverSlot(*graph_->Find(id), 0) < 0) return id;
    }
    return "";
  }
  std::string Watched() const { return graph_->id(graph_->SubjectsOf(0)[0]); }

  std::shared_ptr<const ObserverGraph> graph_;
  GraphSource source_;
  std::unique_ptr<MembershipNode> node_;
  std::vector<std::string> removed_;
};

TEST_F(DisputeTest, SilenceTakesTheMemberOutAfterTheWait) {
  const std::string x = NotWatched();
  Outbox out;
  node_->OnGossip(Gossip{.removed = {{x, 1}}}, "m3", kT0, out);
  EXPECT_EQ(node_->disputes(), 1u);
  EXPECT_EQ(NoticesTo(out, x), (std::vector<Report>{{"m0", x, 1, kFirstDisputeRound}}));
  // Asked again every 2 s; the same listing again opens nothing more.
  out.clear();
  node_->OnGossip(Gossip{.removed = {{x, 1}}}, "m4", kT0 + seconds(1), out);
  EXPECT_TRUE(NoticesTo(out, x).empty());
  EXPECT_EQ(node_->disputes(), 1u);
  std::vector<std::uint32_t> rounds;
  for (MonoTime t = kT0 + seconds(1); t < kT0 + seconds(6); t += milliseconds(100)) {
    Outbox o;
    node_->Tick(t, o);
    for (const Report& r : NoticesTo(o, x)) rounds.push_back(r.round);
  }
  EXPECT_EQ(rounds, (std::vector<std::uint32_t>{kFirstDisputeRound + 1, kFirstDisputeRound + 2}));
  EXPECT_TRUE(node_->view().Find(x));
  node_->Tick(kT0 + seconds(6), out);
  EXPECT_FALSE(node_->view().Find(x));
  EXPECT_EQ(removed_, std::vector<std::string>{x});
  EXPECT_EQ(node_->disputes_lost(), 1u);
  EXPECT_EQ(node_->tombstone_count(), 1u);
}

TEST_F(DisputeTest, ARefutationKeepsTheMember) {
  const std::string x = NotWatched();
  Outbox out;
  node_->OnGossip(Gossip{.removed = {{x, 1}}}, "m3", kT0, out);
  node_->OnGossip(Gossip{.alives = {{x, 2}}}, x, kT0 + seconds(1), out);
  node_->Tick(kT0 + seconds(7), out);
  EXPECT_TRUE(node_->view().Find(x));
  EXPECT_EQ(node_->disputes(), 1u);
  EXPECT_EQ(node_->disputes_lost(), 0u);
  // A listing of an incarnation older than the one known opens no dispute at all.
  node_->OnGossip(Gossip{.removed = {{x, 1}}}, "m3", kT0 + seconds(8), out);
  EXPECT_EQ(node_->disputes(), 1u);
}

TEST_F(DisputeTest, AMemberThisNodeHearsAtANewerIncarnationIsKept) {
  const std::string x = Watched();
  Outbox out;
  node_->OnGossip(Gossip{.removed = {{x, 1}}}, "m3", kT0, out);
  node_->OnHeartbeat(x, 2, 1, kT0 + seconds(1), out);
  node_->Tick(kT0 + seconds(7), out);
  EXPECT_TRUE(node_->view().Find(x));
  EXPECT_EQ(node_->disputes_lost(), 0u);
}

TEST_F(DisputeTest, ATombstoneAtTheLastIncarnationIsIgnored) {
  // Nothing could be newer: no refutation or restart would ever undo it.
  const std::string x = NotWatched();
  Outbox out;
  node_->OnGossip(Gossip{.removed = {{x, UINT64_MAX}, {"gone", UINT64_MAX}}}, "m3", kT0, out);
  EXPECT_EQ(node_->disputes(), 0u);
  EXPECT_EQ(node_->tombstone_count(), 0u);
}

TEST_F(DisputeTest, AtMostDisputesOpenAtATime) {
  MembershipOptions o;
  o.self = "m0";
  o.disputes_open = 2;
  MembershipNode node(o, graph_, source_, kT0);
  Outbox out;
  node.OnGossip(Gossip{.removed = {{"m1", 1}, {"m2", 1}, {"m3", 1}}}, "m4", kT0, out);
  EXPECT_EQ(node.disputes(), 2u);
}

}  // namespace
}  // namespace vigil::membership
