// MembershipNode::StatusOf and Counts (membership/member_status.h): what the API shows of a
// member, as the reports about it add up and after it is taken out.
#include "membership/membership_node.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::membership {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const MonoTime kT0 = MonoTime{} + seconds(1000);

class MemberStatusTest : public ::testing::Test {
 protected:
  MemberStatusTest() {
    std::vector<std::string> ids;
    for (int i = 0; i < 40; ++i) ids.push_back("m" + std::to_string(i));
    graph_ = std::make_shared<const ObserverGraph>(ObserverGraph::Build(ids, 8));
  }
  std::unique_ptr<MembershipNode> Make(const std::string& self) {
    MembershipOptions o;
    o.self = self;
    return std::make_unique<MembershipNode>(o, graph_, source_, kT0);
  }
  std::string ObserverOf(const std::string& subject, int slot) const {
    return graph_->id(graph_->ObserversOf(*graph_->Find(subject))[slot]);
  }
  // A member neither `self` nor `subject` watch nor are.
  std::string Unwatched(const std::string& self) const {
    const auto mine = graph_->SubjectsOf(*graph_->Find(self));
    for (MemberIndex m = 0; m < graph_->size(); ++m) {
      if (graph_->id(m) != self && std::find(mine.begin(), mine.end(), m) == mine.end()) {
        return graph_->id(m);
      }
    }
    return "";
  }
  void ReportFrom(MembershipNode& node, const std::string& subject, int slot, MonoTime at) {
    Outbox out;
    const Report r{ObserverOf(subject, slot), subject, 1, 1};
    node.OnGossip(Gossip{{r}, {}}, r.observer, at, out);
  }

  std::shared_ptr<const ObserverGraph> graph_;
  GraphSource source_;
};

TEST_F(MemberStatusTest, SaysWhoWatchesWhomAndWhenItLastHeardThem) {
  const std::string subject = "m11";
  const std::string self = ObserverOf(subject, 7);
  auto node = Make(self);
  Outbox out;
  node->OnHeartbeat(subject, 1, 1, kT0 + milliseconds(300), out);
  const auto watched = node->StatusOf(subject);
  ASSERT_TRUE(watched);
  EXPECT_EQ(watched->state, MemberState::kUp);
  EXPECT_EQ(watched->provenance, Provenance::kWatched);
  EXPECT_EQ(watched->last_heartbeat, kT0 + milliseconds(300));
  EXPECT_EQ(watched->observers, 8);
  EXPECT_EQ(watched->reports, 0);
  EXPECT_EQ(watched->incarnation, 1u);
  const auto me = node->StatusOf(self);
  ASSERT_TRUE(me);
  EXPECT_EQ(me->provenance, Provenance::kSelf);
  EXPECT_FALSE(me->last_heartbeat);
  const auto other = node->StatusOf(Unwatched(self));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->provenance, Provenance::kView);
  EXPECT_FALSE(other->last_heartbeat);
  EXPECT_FALSE(node->StatusOf("nobody"));
  const ClusterCounts c = node->Counts();
  EXPECT_EQ(c.members, 40u);
  EXPECT_EQ(c.watched, 8u);
  EXPECT_EQ(c.down + c.left + c.suspect, 0u);
  EXPECT_DOUBLE_EQ(c.reach(), 1.0);
  EXPECT_TRUE(c.majority());
}

// One report is news; from L on, a failure is in progress (suspect); at H it is taken out,
// and the member is down "by agreement" with the reports that made the cut.
TEST_F(MemberStatusTest, ReportsMakeASuspectThenADownByAgreement) {
  const std::string subject = "m11";
  const std::string self = ObserverOf(subject, 7);
  auto node = Make(self);
  Outbox out;
  node->OnHeartbeat(subject, 1, 1, kT0, out);
  ReportFrom(*node, subject, 0, kT0 + milliseconds(10));
  EXPECT_EQ(node->StatusOf(subject)->state, MemberState::kUp);
  EXPECT_EQ(node->StatusOf(subject)->reports, 1);
  EXPECT_EQ(node->Counts().suspect, 0u);
  ReportFrom(*node, subject, 1, kT0 + milliseconds(20));
  EXPECT_EQ(node->StatusOf(subject)->state, MemberState::kSuspect);
  EXPECT_EQ(node->StatusOf(subject)->reports, 2);
  EXPECT_EQ(node->Counts().suspect, 1u);
  for (int slot = 2; slot < 5; ++slot) ReportFrom(*node, subject, slot, kT0 + milliseconds(30));
  node->Tick(kT0 + milliseconds(30) + CutOptions{}.settle, out);
  const auto down = node->StatusOf(subject);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->state, MemberState::kDown);
  EXPECT_EQ(down->provenance, Provenance::kAgreement);
  EXPECT_EQ(down->reports, 5);
  EXPECT_EQ(down->observers, 8);
  EXPECT_EQ(down->last_heartbeat, kT0);  // this node watched it
  EXPECT_EQ(down->incarnation, 1u);
  const ClusterCounts c = node->Counts();
  EXPECT_EQ(c.members, 39u);
  EXPECT_EQ(c.down, 1u);
  EXPECT_EQ(c.suspect, 0u);
  EXPECT_DOUBLE_EQ(c.reach(), 39.0 / 40.0);
}

TEST(ClusterCounts, AMajorityIsMoreThanHalfOfWhatThisNodeKnew) {
  EXPECT_TRUE((ClusterCounts{.members = 6, .down = 5}).majority());
  EXPECT_FALSE((ClusterCounts{.members = 5, .down = 5}).majority());
  EXPECT_DOUBLE_EQ((ClusterCounts{.members = 5, .down = 5}).reach(), 0.5);
  // Members that left are not counted as the cluster: they said goodbye.
  EXPECT_TRUE((ClusterCounts{.members = 2, .down = 1, .left = 10}).majority());
  EXPECT_DOUBLE_EQ((ClusterCounts{}).reach(), 1.0);
}

}  // namespace
}  // namespace vigil::membership
