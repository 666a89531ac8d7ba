// The daemon's core without I/O: datagrams in with explicit times, states and events out.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/node.h"
#include "tests/unit/test_messages.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

using testing::AtMs;

Config TestConfig(const std::string& extra = "") {
  auto r = LoadConfigString(R"(node:
  id: me
heartbeat:
  interval: 100ms
detector:
  kind: timeout
  timeout: 500ms
peers:
  - id: a
    address: 10.0.0.1
  - id: b
    address: 10.0.0.2
)" + extra,
                            "test.yaml");
  EXPECT_TRUE(r.ok()) << r.errors.front().ToString();
  return *r.config;
}

Timestamp T(double ms) {
  return {AtMs(ms), WallTime(std::chrono::milliseconds(1'800'000'000'000LL +
                                                       static_cast<long long>(ms)))};
}

std::vector<std::uint8_t> Datagram(std::string_view from, std::uint64_t inc, std::uint64_t seq,
                                   MessageType type = MessageType::kHeartbeat) {
  return testing::EncodedMessage(from, inc, seq, type);
}

class NodeTest : public ::testing::Test {
 protected:
  NodeTest() : node(TestConfig(), T(0)) {
    node.set_event_listener([this](const EventRecord& e) { events.push_back(e); });
  }
  std::optional<RejectReason> Feed(std::string_view from, std::uint64_t inc, std::uint64_t seq,
                                   double at, MessageType type = MessageType::kHeartbeat) {
    return node.OnDatagram(Datagram(from, inc, seq, type), false, T(at));
  }
  PeerState State(std::string_view id) {
    return node.peers()[*node.Find(id)].monitor.state();
  }
  Node node;
  std::vector<EventRecord> events;
};

TEST_F(NodeTest, HeartbeatsBringPeersUpAndSilenceTakesThemDown) {
  EXPECT_EQ(State("a"), PeerState::kUnknown);
  EXPECT_EQ(node.NextWakeup(), kNever);
  EXPECT_FALSE(Feed("a", 1, 1, 0));
  EXPECT_EQ(State("a"), PeerState::kUp);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].peer, "a");
  EXPECT_EQ(events[0].wall_ms, 1'800'000'000'000LL);
  EXPECT_EQ(node.NextWakeup(), AtMs(500));
  Feed("a", 1, 2, 100);
  node.RunDue(T(500));  // the stale wakeup re-files itself: not due until 600
  EXPECT_EQ(State("a"), PeerState::kUp);
  node.RunDue(T(600));
  EXPECT_EQ(State("a"), PeerState::kDown);
  EXPECT_EQ(events.back().to, PeerState::kDown);
  EXPECT_EQ(events.back().wall_ms, 1'800'000'000'600LL);
  EXPECT_EQ(node.peers()[*node.Find("a")].since_wall, T(600).wall);
  EXPECT_EQ(State("b"), PeerState::kUnknown);  // never touched
}

TEST_F(NodeTest, SequenceGapsCountAsLostAndOldSequencesAreRejected) {
  Feed("a", 1, 1, 0);
  Feed("a", 1, 5, 100);
  EXPECT_EQ(node.peers()[*node.Find("a")].sequence.lost(), 3u);
  EXPECT_EQ(Feed("a", 1, 5, 150), RejectReason::kOldSequence);  // a duplicate
  // Reordered: 2 arrives late. Not an error, no longer lost, not fed to the detector.
  EXPECT_FALSE(Feed("a", 1, 2, 160));
  EXPECT_EQ(node.peers()[*node.Find("a")].sequence.lost(), 2u);
  EXPECT_EQ(node.counters().late_heartbeats, 1u);
  EXPECT_EQ(Feed("a", 1, 2, 170), RejectReason::kOldSequence);  // and only once
  EXPECT_EQ(node.peers()[*node.Find("a")].heartbeats_received, 2u);
  EXPECT_EQ(*node.peers()[*node.Find("a")].monitor.detector().last_heartbeat(), AtMs(100));
  EXPECT_EQ(node.counters().rejected[static_cast<std::size_t>(RejectReason::kOldSequence)], 2u);
}

TEST_F(NodeTest, NewIncarnationIsARestartAndResetsSequences) {
  Feed("a", 1, 100, 0);
  EXPECT_FALSE(Feed("a", 2, 1, 50));  // sequence starts over in the new incarnation
  EXPECT_EQ(events.back().reason, TransitionReason::kRestart);
  EXPECT_EQ(events.back().incarnation, 2u);
  EXPECT_EQ(Feed("a", 1, 101, 60), RejectReason::kStaleIncarnation);
}

TEST_F(NodeTest, LeaveIsRecordedAndRepeatsAreQuiet) {
  Feed("a", 1, 1, 0);
  EXPECT_FALSE(Feed("a", 1, 2, 10, MessageType::kLeave));
  EXPECT_EQ(State("a"), PeerState::kLeft);
  EXPECT_FALSE(Feed("a", 1, 3, 11, MessageType::kLeave));  // the sender's second copy
  EXPECT_EQ(Feed("a", 1, 4, 20), RejectReason::kAfterLeave);
  node.RunDue(T(10000));
  EXPECT_EQ(State("a"), PeerState::kLeft);
  EXPECT_EQ(events.size(), 2u);
}

TEST_F(NodeTest, RejectsGarbageSelfAndStrangers) {
  EXPECT_EQ(Feed("me", 1, 1, 0), RejectReason::kSelf);
  EXPECT_EQ(Feed("zed", 1, 1, 0), RejectReason::kUnknownSender);
  const std::vector<std::uint8_t> junk = {1, 2, 3};
  EXPECT_EQ(node.OnDatagram(junk, false, T(0)), RejectReason::kTooShort);
  EXPECT_EQ(node.OnDatagram(Datagram("a", 1, 1), true, T(0)), RejectReason::kOversized);
  EXPECT_EQ(node.counters().datagrams_received, 4u);
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(State("a"), PeerState::kUnknown);
}

TEST_F(NodeTest, EventRingKeepsTransitionsInOrder) {
  Feed("a", 1, 1, 0);
  Feed("b", 1, 1, 1);
  node.RunDue(T(600));
  bool gap = false;
  const auto all = node.events().After(0, &gap);
  ASSERT_EQ(all.size(), 4u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_EQ(all[i].id, all[i - 1].id + 1);
  const auto counts = node.CountByState();
  EXPECT_EQ(counts[static_cast<std::size_t>(PeerState::kDown)], 2u);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

TEST_F(NodeTest, ReconfigureAddsRemovesAndRetunesKeepingHistory) {
  for (int i = 0; i < 20; ++i) Feed("a", 1, static_cast<std::uint64_t>(i + 1), i * 100.0);
  const auto samples_before = node.peers()[*node.Find("a")].monitor.detector().Stats().samples;
  Config next = TestConfig(R"(  - id: c
    address: 10.0.0.3
)");
  // a: longer timeout (same kind: retuned in place); b: removed.
  next.peers.erase(next.peers.begin() + 1);
  std::get<TimeoutKnobs>(next.peers[0].detector.knobs).timeout = std::chrono::seconds(2);
  const auto summary = node.Reconfigure(next, T(2000));
  EXPECT_EQ(summary.added, std::vector<std::string>{"c"});
  EXPECT_EQ(summary.removed, std::vector<std::string>{"b"});
  EXPECT_EQ(summary.retuned, std::vector<std::string>{"a"});
  ASSERT_EQ(node.peers().size(), 2u);
  EXPECT_FALSE(node.Find("b"));
  const auto& a = node.peers()[*node.Find("a")];
  EXPECT_EQ(a.monitor.state(), PeerState::kUp);
  EXPECT_EQ(a.monitor.detector().Stats().samples, samples_before);
  EXPECT_EQ(a.heartbeats_received, 20u);
  // The new timeout applies: last heartbeat at 1900, down at 3900, not at 2400.
  node.RunDue(T(2500));
  EXPECT_EQ(State("a"), PeerState::kUp);
  node.RunDue(T(3900));
  EXPECT_EQ(State("a"), PeerState::kDown);
  // The new peer works, and heartbeats still reach the right peer after re-indexing.
  EXPECT_FALSE(Feed("c", 1, 1, 4000));
  EXPECT_EQ(State("c"), PeerState::kUp);
  EXPECT_EQ(Feed("b", 1, 1, 4000), RejectReason::kUnknownSender);
}

TEST_F(NodeTest, ChangingTheDetectorKindRelearnsButKeepsState) {
  Feed("a", 1, 1, 0);
  Config next = TestConfig();
  next.peers[0].detector.set_kind(DetectorKind::kPhi);
  const auto summary = node.Reconfigure(next, T(100));
  EXPECT_EQ(summary.replaced, std::vector<std::string>{"a"});
  EXPECT_EQ(State("a"), PeerState::kUp);
  EXPECT_EQ(node.peers()[*node.Find("a")].monitor.detector().threshold(), 8.0);
}

TEST_F(NodeTest, SnapshotAndRestoreCarryStateAndLastSeenAcrossARestart) {
  node.set_own_incarnation(99);
  Feed("a", 7, 1, 0);
  node.RunDue(T(600));
  const PersistedState saved = node.Snapshot(T(700), false);
  EXPECT_EQ(saved.incarnation, 99u);
  EXPECT_FALSE(saved.clean_stop);
  ASSERT_EQ(saved.peers.size(), 2u);
  EXPECT_EQ(saved.peers[0].state, "down");
  EXPECT_EQ(saved.peers[0].sequence, 1u);
  EXPECT_EQ(saved.peers[0].interval_us, 100000u);
  EXPECT_EQ(*saved.peers[0].last_heartbeat_ms, 1'800'000'000'000LL);

  Node restarted(TestConfig(), T(5000));
  restarted.set_own_incarnation(100);
  restarted.Restore(saved, T(5000));
  const auto& a = restarted.peers()[*restarted.Find("a")];
  EXPECT_EQ(a.monitor.state(), PeerState::kDown);  // the alert stands until a is heard
  EXPECT_EQ(a.since_wall, T(600).wall);
  ASSERT_TRUE(a.previous);
  EXPECT_EQ(a.previous->state, "down");
  // An older incarnation than the one remembered is stale even after the restart...
  EXPECT_EQ(restarted.OnDatagram(Datagram("a", 6, 1), false, T(5100)),
            RejectReason::kStaleIncarnation);
  // ...and a snapshot before it is heard again keeps the previous run's facts.
  const auto again = restarted.Snapshot(T(5200), true);
  EXPECT_EQ(again.peers[0].state, "down");
  EXPECT_EQ(again.peers[0].since_ms, saved.peers[0].since_ms);
  EXPECT_EQ(again.peers[0].last_heartbeat_ms, saved.peers[0].last_heartbeat_ms);
  // The previous run was killed: numbers a margin above the persisted one may have been
  // accepted after the file was written, so they are not accepted again.
  EXPECT_EQ(restarted.OnDatagram(Datagram("a", 7, 30), false, T(5300)),
            RejectReason::kOldSequence);
  EXPECT_FALSE(restarted.OnDatagram(Datagram("a", 7, 200), false, T(5300)));
  EXPECT_EQ(restarted.peers()[*restarted.Find("a")].monitor.state(), PeerState::kUp);
  EXPECT_FALSE(restarted.peers()[*restarted.Find("a")].previous);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// Prefetch is a hint: whatever it is given, in a table large enough for it to work, it
// changes nothing, and the datagrams it looked at are then judged as ever. (Prefetch is
// const; what this test adds is running its passes over bad input under the sanitizers.)
TEST(NodePrefetch, ChangesNothingWhateverItIsGiven) {
  Config config = TestConfig();
  for (std::size_t i = 0; i < Node::kPrefetchFromPeers; ++i) {
    PeerConfig p;
    p.id = "p" + std::to_string(i);
    const auto port = static_cast<std::uint16_t>(1024 + i % 60000);
    p.address = Endpoint{"10.1.0.1", port, Endpoint::HostKind::kIPv4};
    config.peers.push_back(std::move(p));
  }
  Node node(config, T(0));
  const auto known = Datagram("p77", 1, 1);
  const auto unknown = Datagram("stranger", 1, 1);
  const std::vector<std::uint8_t> garbage{0x56, 0x47, 3, 1, 0, 200};
  std::vector<std::span<const std::uint8_t>> views{known, unknown, garbage,
                                                   std::span(known).first(known.size() - 3), {}};
  while (views.size() <= Node::kPrefetchBatch + 5) views.push_back(known);  // more than it reads
  node.Prefetch(views);
  node.Prefetch({});
  EXPECT_EQ(node.counters().datagrams_received, 0u);
  EXPECT_EQ(node.peers()[*node.Find("p77")].monitor.state(), PeerState::kUnknown);
  EXPECT_EQ(node.events().size(), 0u);
  EXPECT_FALSE(node.OnDatagram(known, false, T(10)));
  EXPECT_EQ(node.peers()[*node.Find("p77")].monitor.state(), PeerState::kUp);
  EXPECT_EQ(node.OnDatagram(unknown, false, T(11)), RejectReason::kUnknownSender);
}

}  // namespace
}  // namespace vigil
