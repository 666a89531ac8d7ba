// Node::SnapshotSlice: the state file's view taken in parts while peers come and go.
#include <gtest/gtest.h>

#include <set>

#include "daemon/node.h"
#include "daemon/state_codec.h"
#include "tests/daemon/enrolling_node.h"

namespace vigil {
namespace {

using testing::EnrollingConfig;
using testing::Heartbeat;
using testing::Ring;
using testing::T;

class NodeSnapshotTest : public ::testing::Test {
 protected:
  NodeSnapshotTest()
      : config(EnrollingConfig("enabled: true, max_peers: 100, retention: 10s")),
        ring(Ring(GenerateKeyBase64())),
        node(config, T(0)) {
    node.SetAuthentication(ring, true, /*require_echo=*/true);
    node.set_own_incarnation(42);
  }
  void Feed(std::string_view from, std::uint64_t seq, double at) {
    EXPECT_FALSE(node.OnDatagram(Heartbeat(&ring.primary(), from, 7, seq), false, T(at)));
  }
  Config config;
  Keyring ring;
  Node node;
};

TEST_F(NodeSnapshotTest, SlicesTakeEveryPeerOnceWhilePeersComeAndGo) {
  for (int i = 0; i < 5; ++i) Feed("user-" + std::to_string(i), 1, 0);
  Feed("user-4", 2, 9'000);  // the others fall silent
  node.RunDue(T(10'500));
  PersistedState s = node.SnapshotHeader(T(10'500), false);
  auto after = node.SnapshotSlice(std::nullopt, 2, s.peers);  // a, user-0
  ASSERT_TRUE(after);
  // Between slices: user-0..3 are forgotten (down, silent past the 10 s retention) and a
  // newcomer enrolls.
  EXPECT_EQ(node.ForgetSilent(T(10'500)), 4u);
  Feed("user-9", 1, 10'600);
  while (after) after = node.SnapshotSlice(after, 2, s.peers);
  node.AppendRemembered(s.peers);
  std::multiset<std::string> ids;
  for (const auto& p : s.peers) ids.insert(p.id);
  // Tracked throughout or arrived: once each; forgotten after its slice: tracked and
  // remembered, which the file keeps as one, the later (remembered) record.
  for (const char* id : {"a", "user-4", "user-9", "user-1", "user-2", "user-3"}) {
    EXPECT_EQ(ids.count(id), 1u) << id;
  }
  EXPECT_EQ(ids.count("user-0"), 2u);
  const auto back = DecodeState(EncodeState(s), "me");
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(back->peers.size(), 7u);
  // An empty slice size changes nothing and does not lose the place.
  PersistedState again = node.SnapshotHeader(T(10'600), false);
  EXPECT_EQ(node.SnapshotSlice(std::uint64_t{0}, 0, again.peers), std::uint64_t{0});
  EXPECT_TRUE(again.peers.empty());
  EXPECT_EQ(node.Snapshot(T(10'600), false).peers.size(), 7u);
}

}  // namespace
}  // namespace vigil
