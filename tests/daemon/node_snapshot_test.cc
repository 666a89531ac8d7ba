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
  // Each record both kept whole and encoded as the daemon does (StateFileBuilder).
  StateFileBuilder file;
  file.Begin(s);
  const Node::PeerSink sink = [&](const PeerFields& f) {
    s.peers.push_back(ToPersisted(f));
    file.Add(f);
  };
  auto after = node.SnapshotSlice(std::nullopt, 2, sink);  // a, user-0
  ASSERT_TRUE(after);
  // Between slices: user-0..3 are forgotten (down, silent past the 10 s retention) and a
  // newcomer enrolls.
  EXPECT_EQ(node.ForgetSilent(T(10'500)), 4u);
  Feed("user-9", 1, 10'600);
  while (after) after = node.SnapshotSlice(after, 2, sink);
  node.AppendRemembered(sink);
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
  EXPECT_EQ(back->peers.size(), 8u);  // user-0 twice: Restore keeps the later record
  // Built in slices, the file is the same bytes.
  EXPECT_EQ(file.records(), s.peers.size());
  std::string built = file.Finish();
  SealState(built);
  EXPECT_EQ(built, EncodeState(s));
  // An empty slice size changes nothing and does not lose the place.
  PersistedState again = node.SnapshotHeader(T(10'600), false);
  EXPECT_EQ(node.SnapshotSlice(std::uint64_t{0}, 0,
                               [&](const PeerFields& f) { again.peers.push_back(ToPersisted(f)); }),
            std::uint64_t{0});
  EXPECT_TRUE(again.peers.empty());
  EXPECT_EQ(node.Snapshot(T(10'600), false).peers.size(), 7u);
}

PersistedPeer Record(const std::string& id, const std::string& state, double last_at,
                     std::uint64_t sequence) {
  PersistedPeer p;
  p.id = id;
  p.state = state;
  p.since_ms = 1'800'000'000'000LL;
  p.last_heartbeat_ms = 1'800'000'000'000LL + static_cast<std::int64_t>(last_at);
  p.incarnation = 7;
  p.sequence = sequence;
  p.enrolled = true;
  return p;
}

TEST_F(NodeSnapshotTest, RestoreKeepsTheLaterOfTwoRecordsOfAPeer) {
  PersistedState s = node.SnapshotHeader(T(0), /*clean_stop=*/true);
  s.peers = {Record("user-1", "up", 19'000, 5), Record("user-2", "down", 0, 3),
             Record("user-1", "down", 19'500, 9), Record("user-2", "up", 19'900, 4)};
  Node restored(config, T(20'000));
  restored.SetAuthentication(ring, true, /*require_echo=*/true);
  restored.set_own_incarnation(43);
  restored.Restore(s, T(20'000));
  // user-1: tracked, as the later record says (down, marks up to 9).
  ASSERT_TRUE(restored.Find("user-1"));
  EXPECT_EQ(restored.peers()[*restored.Find("user-1")].monitor.state(), PeerState::kDown);
  EXPECT_EQ(restored.OnDatagram(Heartbeat(&ring.primary(), "user-1", 7, 9), false, T(20'100)),
            RejectReason::kOldSequence);
  // user-2: the first record (silent past the 10 s retention) went to the remembered table;
  // the later one (heard 0.1 s ago) is tracked, and not remembered as well.
  ASSERT_TRUE(restored.Find("user-2"));
  EXPECT_EQ(restored.peers()[*restored.Find("user-2")].monitor.state(), PeerState::kUp);
  EXPECT_FALSE(restored.FindRemembered("user-2"));
  EXPECT_EQ(restored.enrolled_count(), 2u);
  EXPECT_EQ(restored.remembered_count(), 0u);
  // The earlier record's "up" left no judgement behind: user-1 stays down without an event
  // (user-2, restored up and not heard, goes down on silence: one event).
  restored.RunDue(T(200'000));
  EXPECT_EQ(restored.peers()[*restored.Find("user-1")].monitor.state(), PeerState::kDown);
  EXPECT_EQ(restored.counters().transitions_to[static_cast<std::size_t>(PeerState::kDown)], 1u);
}

}  // namespace
}  // namespace vigil
