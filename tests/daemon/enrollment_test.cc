// Enrollment in the Node (config.enrollment): authenticated unlisted senders become peers,
// up to a cap, and are forgotten into the remembered table after their retention; reloads,
// snapshots and restores keep them. Explicit times, no sockets.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "daemon/api_router.h"
#include "daemon/node.h"
#include "tests/daemon/enrolling_node.h"

namespace vigil {
namespace {

using testing::AtMs;
using testing::EnrollingConfig;
using testing::Heartbeat;
using testing::Ring;
using testing::T;

class EnrollmentTest : public ::testing::Test {
 protected:
  EnrollmentTest()
      : config(EnrollingConfig(
            "enabled: true, id_pattern: \"user-*\", max_peers: 2, retention: 10s")),
        ring(Ring(GenerateKeyBase64())),
        node(config, T(0)) {
    node.SetAuthentication(ring, true, /*require_echo=*/true);
    node.set_own_incarnation(42);  // listed peers must echo it; the senders here echo 0
  }
  std::optional<RejectReason> Feed(std::string_view from, std::uint64_t seq, double at,
                                   bool sign = true, std::uint64_t inc = 7) {
    return node.OnDatagram(Heartbeat(sign ? &ring.primary() : nullptr, from, inc, seq), false,
                           T(at));
  }
  const PeerRecord& Peer(std::string_view id) { return node.peers()[*node.Find(id)]; }

  Config config;
  Keyring ring;
  Node node;
};

TEST_F(EnrollmentTest, AnAuthenticatedUnlistedSenderIsEnrolledWithoutAnEcho) {
  EXPECT_FALSE(Feed("user-1", 1, 0));
  ASSERT_TRUE(node.Find("user-1"));
  EXPECT_TRUE(Peer("user-1").enrolled);
  EXPECT_EQ(Peer("user-1").monitor.state(), PeerState::kUp);
  EXPECT_EQ(node.enrolled_count(), 1u);
  EXPECT_EQ(node.listed_count(), 1u);  // only `a` is heartbeated
  EXPECT_EQ(node.counters().peers_enrolled, 1u);
  // The listed peer still needs its echo.
  EXPECT_EQ(Feed("a", 1, 0), RejectReason::kUnconfirmed);
  // Judged by the `detector:` defaults: silent past 500 ms, down.
  node.RunDue(T(600));
  EXPECT_EQ(Peer("user-1").monitor.state(), PeerState::kDown);
}

TEST_F(EnrollmentTest, EnrolledPeersShareOneCopyOfTheDetectorDefaultsAcrossAReload) {
  EXPECT_FALSE(Feed("user-1", 1, 0));
  EXPECT_FALSE(Feed("user-2", 1, 0));
  EXPECT_EQ(Peer("user-1").detector_options.get(), Peer("user-2").detector_options.get());
  // The listed peer has the same settings: the same copy.
  EXPECT_EQ(Peer("a").detector_options.get(), Peer("user-1").detector_options.get());
  // A reload that changes `detector:` (not `a`'s) retunes both to one new copy.
  Config next = config;
  next.detector.knobs = TimeoutKnobs{std::chrono::milliseconds(700), std::nullopt};
  const ReconfigureSummary summary = node.Reconfigure(next, T(100));
  EXPECT_EQ(summary.retuned.size(), 2u);
  EXPECT_EQ(Peer("user-1").detector_options.get(), Peer("user-2").detector_options.get());
  EXPECT_EQ(*Peer("user-1").detector_options, next.detector);
  EXPECT_NE(Peer("a").detector_options.get(), Peer("user-1").detector_options.get());
  // Judged by it: 700 ms of silence now, not 500.
  node.RunDue(T(650));
  EXPECT_EQ(Peer("user-1").monitor.state(), PeerState::kUp);
  node.RunDue(T(800));
  EXPECT_EQ(Peer("user-1").monitor.state(), PeerState::kDown);
}

TEST_F(EnrollmentTest, UnsignedForgedAndOutOfPatternSendersAreRefused) {
  EXPECT_EQ(Feed("user-1", 1, 0, /*sign=*/false), RejectReason::kUnauthenticated);
  const Keyring attacker = Ring(GenerateKeyBase64());
  const auto forged = node.OnDatagram(Heartbeat(&attacker.primary(), "user-1", 7, 1), false, T(0));
  EXPECT_TRUE(forged == RejectReason::kUnknownKey || forged == RejectReason::kBadMac);
  EXPECT_EQ(Feed("admin", 1, 0), RejectReason::kUnknownSender);
  EXPECT_EQ(node.enrolled_count(), 0u);
  EXPECT_FALSE(node.Find("user-1"));
}

TEST_F(EnrollmentTest, TheCapRefusesNewcomersAndKeepsEveryEnrolledPeer) {
  EXPECT_FALSE(Feed("user-1", 1, 0));
  EXPECT_FALSE(Feed("user-2", 1, 0));
  EXPECT_EQ(Feed("user-3", 1, 0), RejectReason::kEnrollmentFull);
  EXPECT_EQ(node.counters().rejected[static_cast<std::size_t>(RejectReason::kEnrollmentFull)],
            1u);
  EXPECT_FALSE(node.Find("user-3"));
  // The ones already enrolled carry on.
  EXPECT_FALSE(Feed("user-1", 2, 100));
  EXPECT_FALSE(Feed("user-2", 2, 100));
  EXPECT_EQ(node.enrolled_count(), 2u);
}

TEST_F(EnrollmentTest, APeerSilentPastRetentionIsRememberedAndComesBackWithItsMarks) {
  EXPECT_FALSE(Feed("user-1", 5, 0));
  EXPECT_FALSE(Feed("user-2", 1, 0));
  EXPECT_FALSE(Feed("user-2", 2, 9'000));
  node.RunDue(T(9'500));
  EXPECT_EQ(node.ForgetSilent(T(9'500)), 0u);  // 9.5 s < 10 s retention
  EXPECT_EQ(node.ForgetSilent(T(10'500)), 1u);
  EXPECT_FALSE(node.Find("user-1"));
  ASSERT_TRUE(node.FindRemembered("user-1"));
  const PersistedPeer remembered = *node.FindRemembered("user-1");
  EXPECT_EQ(remembered.state, "down");
  EXPECT_EQ(remembered.last_heartbeat_ms, 1'800'000'000'000LL);
  EXPECT_EQ(remembered.sequence, 5u);
  EXPECT_EQ(node.enrolled_count(), 1u);
  EXPECT_EQ(node.remembered_count(), 1u);
  EXPECT_TRUE(node.Find("user-2"));  // heard 1.5 s ago: kept, and still judged
  // A replay of what was heard before it was forgotten stays rejected, and takes no slot:
  // the table (max 2) still has room for two.
  EXPECT_EQ(Feed("user-1", 5, 11'000), RejectReason::kOldSequence);
  EXPECT_EQ(Feed("user-1", 4, 11'000, true, 6), RejectReason::kStaleIncarnation);
  EXPECT_FALSE(node.Find("user-1"));
  EXPECT_TRUE(node.FindRemembered("user-1"));
  EXPECT_EQ(node.enrolled_count(), 1u);
  // A new heartbeat brings it back and up, with what it was remembered with.
  EXPECT_FALSE(Feed("user-1", 6, 11'100));
  EXPECT_FALSE(node.FindRemembered("user-1"));
  EXPECT_EQ(Peer("user-1").monitor.state(), PeerState::kUp);
  EXPECT_EQ(Peer("user-1").monitor.incarnation(), 7u);
  EXPECT_EQ(node.counters().peers_forgotten, 1u);
  EXPECT_EQ(node.counters().peers_enrolled, 3u);
}

TEST_F(EnrollmentTest, ForgettingInSlicesForgetsAtTheEndOfAPassWhatIsStillSilent) {
  EXPECT_FALSE(Feed("user-1", 1, 0));
  EXPECT_FALSE(Feed("user-2", 1, 0));
  node.RunDue(T(20'000));
  ASSERT_EQ(Peer("user-1").monitor.state(), PeerState::kDown);
  ASSERT_EQ(Peer("user-2").monitor.state(), PeerState::kDown);
  // One peer per call: the first slice finds user-1, but forgets nothing before the pass ends.
  EXPECT_EQ(node.ForgetSilent(T(20'000), MonoTime{}, 1), 0u);
  EXPECT_TRUE(node.Find("user-1"));
  // Heard again before the pass ends: looked at again then, and kept.
  EXPECT_FALSE(Feed("user-1", 2, 20'050));
  EXPECT_EQ(node.ForgetSilent(T(20'100), MonoTime{}, 1), 1u);  // the pass ends with user-2
  EXPECT_TRUE(node.Find("user-1"));
  EXPECT_FALSE(node.Find("user-2"));
  EXPECT_TRUE(node.FindRemembered("user-2"));
  // The table was renumbered: user-1, now the last peer, is judged and found right after.
  node.RunDue(T(45'000));
  EXPECT_EQ(node.ForgetSilent(T(45'000), MonoTime{}, 1), 1u);
  EXPECT_EQ(node.enrolled_count(), 0u);
  EXPECT_EQ(node.remembered_count(), 2u);
}

TEST(ForgetSliceSizeTest, APassTakesAbout64thOfTheRetentionWithinTheSliceBounds) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  const Duration every = milliseconds(250);
  // 1 h / 64 = 56.25 s = 225 calls: a million peers in slices of 4,445.
  EXPECT_EQ(Node::ForgetSliceSize(1'000'000, hours(1), every), 4'445u);
  const std::size_t calls = (1'000'000 + 4'444) / 4'445;
  EXPECT_LE(static_cast<double>(calls) * 0.25, 3600.0 / 64);
  // Few peers: never below the floor, so the pass is shorter still.
  EXPECT_EQ(Node::ForgetSliceSize(100'000, hours(1), every), Node::kMinForgetSlice);
  EXPECT_EQ(Node::ForgetSliceSize(0, hours(1), every), Node::kMinForgetSlice);
  // A short retention: as fast as the ceiling allows (a pass of 1,000,000 in 20 calls).
  EXPECT_EQ(Node::ForgetSliceSize(1'000'000, seconds(10), every), Node::kMaxForgetSlice);
  EXPECT_EQ(Node::ForgetSliceSize(1'000'000, seconds(1), every), Node::kMaxForgetSlice);
  // A long one: slices shrink with it, to the floor.
  EXPECT_LT(Node::ForgetSliceSize(1'000'000, hours(24), every),
            Node::ForgetSliceSize(1'000'000, hours(1), every));
}

TEST_F(EnrollmentTest, TheSummaryCountsListedEnrolledAndRememberedPeersApart) {
  EXPECT_FALSE(Feed("user-1", 1, 0));
  EXPECT_FALSE(Feed("user-2", 1, 0));
  EXPECT_FALSE(Feed("user-2", 2, 900));
  node.RunDue(T(1'000));  // user-1 silent past the 500 ms timeout: down
  const DaemonCounters counters;
  const SelfInfo self;
  const ApiContext ctx{node, counters, self, T(1'000)};
  const auto response = Route("GET", "/v1/summary", std::nullopt, ctx);
  ASSERT_EQ(response.status, 200) << response.body;
  const auto o = boost::json::parse(response.body).as_object();
  const auto count = [&](const char* group, const char* key) {
    return o.at(group).as_object().at(key).to_number<std::int64_t>();
  };
  EXPECT_EQ(count("peers", "total"), 3);
  EXPECT_EQ(count("listed", "total"), 1);
  EXPECT_EQ(count("listed", "unknown"), 1);  // `a` was never heard
  EXPECT_EQ(count("enrolled", "total"), 2);
  EXPECT_EQ(count("enrolled", "up"), 1);
  EXPECT_EQ(count("enrolled", "down"), 1);
  EXPECT_EQ(count("peers", "down"), 1);
  EXPECT_EQ(o.at("remembered").to_number<std::int64_t>(), 0);
  node.RunDue(T(12'000));
  EXPECT_EQ(node.ForgetSilent(T(12'000)), 2u);  // both down and silent past the retention
  const auto later = boost::json::parse(
      Route("GET", "/v1/summary", std::nullopt, {node, counters, self, T(12'000)}).body);
  EXPECT_EQ(later.at("remembered").to_number<std::int64_t>(), 2);
  EXPECT_EQ(later.at("enrolled").at("total").to_number<std::int64_t>(), 0);
  EXPECT_EQ(later.at("listed").at("total").to_number<std::int64_t>(), 1);
}

TEST_F(EnrollmentTest, AnUpPeerIsNotForgottenAndNeitherIsAnyoneWhileTheGuardHolds) {
  EXPECT_FALSE(Feed("user-1", 1, 0));
  // No judgement ran (RunDue not called): still up after 20 s of silence, so kept.
  EXPECT_EQ(node.ForgetSilent(T(20'000)), 0u);
  node.RunDue(T(20'000));
  EXPECT_EQ(node.ForgetSilent(T(20'000), AtMs(25'000)), 0u);  // this daemon was not there
  EXPECT_EQ(node.ForgetSilent(T(25'000), AtMs(25'000)), 1u);
}

TEST_F(EnrollmentTest, ALeaveEnrollsNobodyAndUnsignedDatagramsNeverReachAnEnrolledPeer) {
  EXPECT_EQ(node.OnDatagram(Heartbeat(&ring.primary(), "user-1", 7, 1), false, T(0)),
            std::nullopt);
  Message leave;
  leave.type = MessageType::kLeave;
  leave.sender_id = "user-2";
  leave.incarnation = 7;
  leave.sequence = 1;
  leave.interval_us = 100000;
  std::vector<std::uint8_t> d(kMaxMessageSize);
  d.resize(Sign(d, Encode(leave, d), ring.primary()));
  EXPECT_EQ(node.OnDatagram(d, false, T(10)), RejectReason::kUnknownSender);
  EXPECT_FALSE(node.Find("user-2"));
  // Authentication switched off by a reload: the enrolled peer is still only heard signed.
  node.SetAuthentication(ring, /*require_auth=*/false);
  EXPECT_EQ(Feed("user-1", 2, 20, /*sign=*/false), RejectReason::kUnauthenticated);
  EXPECT_FALSE(Feed("user-1", 3, 30));
}

TEST_F(EnrollmentTest, AListedPeerRemovedKeepsItsMarksWhenEnrollmentWouldTakeItsId) {
  Config listed = config;
  listed.peers.push_back(listed.peers[0]);
  listed.peers.back().id = "user-9";
  node.Reconfigure(listed, T(0));
  node.SetAuthentication(ring, true, true);
  Message m;
  m.sender_id = "user-9";
  m.incarnation = 7;
  m.sequence = 3;
  m.interval_us = 100000;
  m.has_echo = true;
  m.echo = node.own_incarnation();
  std::vector<std::uint8_t> d(kMaxMessageSize);
  d.resize(Sign(d, Encode(m, d), ring.primary()));
  EXPECT_FALSE(node.OnDatagram(d, false, T(10)));
  node.Reconfigure(config, T(100));  // user-9 unlisted
  EXPECT_FALSE(node.Find("user-9"));
  ASSERT_TRUE(node.FindRemembered("user-9"));
  // Its recorded datagram cannot enroll it; a new one can.
  EXPECT_EQ(node.OnDatagram(d, false, T(200)), RejectReason::kOldSequence);
  EXPECT_EQ(node.enrolled_count(), 0u);
  EXPECT_FALSE(Feed("user-9", 4, 300));
  EXPECT_TRUE(Peer("user-9").enrolled);
}

TEST_F(EnrollmentTest, AfterAnUncleanStopARememberedMarkIncludesTheReplayMargin) {
  EXPECT_FALSE(Feed("user-1", 10, 0));
  const PersistedState state = node.Snapshot(T(100), /*clean_stop=*/false);
  Node next(config, T(60'000));  // a minute later: past the 10 s retention
  next.SetAuthentication(ring, true, true);
  next.Restore(state, T(60'000));
  ASSERT_TRUE(next.FindRemembered("user-1"));
  // ceil(1.25 × 5 s / 100 ms) + 4 = 67 numbers above the last one written.
  EXPECT_EQ(next.FindRemembered("user-1")->sequence, 10u + 67u);
  // It was up when the file was written, silent past its retention since: down, as of now.
  EXPECT_EQ(next.FindRemembered("user-1")->state, "down");
  EXPECT_EQ(next.FindRemembered("user-1")->since_ms, EpochMillis(T(60'000).wall));
  EXPECT_EQ(next.OnDatagram(Heartbeat(&ring.primary(), "user-1", 7, 77), false, T(60'100)),
            RejectReason::kOldSequence);
  EXPECT_FALSE(next.OnDatagram(Heartbeat(&ring.primary(), "user-1", 7, 78), false, T(60'200)));
}

TEST_F(EnrollmentTest, AReloadKeepsEnrolledPeersAndAListedOneTakesOverItsId) {
  EXPECT_FALSE(Feed("user-1", 1, 0));
  EXPECT_FALSE(Feed("user-2", 1, 0));
  Config next = EnrollingConfig("enabled: false");
  next.peers.push_back(next.peers[0]);
  next.peers.back().id = "user-2";
  const auto summary = node.Reconfigure(next, T(100));
  EXPECT_TRUE(summary.removed.empty());
  ASSERT_TRUE(node.Find("user-1"));
  EXPECT_TRUE(Peer("user-1").enrolled);
  EXPECT_FALSE(Peer("user-2").enrolled);
  EXPECT_EQ(Peer("user-2").monitor.state(), PeerState::kUp);  // kept its state
  EXPECT_EQ(node.listed_count(), 2u);
  EXPECT_LT(*node.Find("user-2"), *node.Find("user-1"));  // listed peers come first
  // Enrollment now off: no newcomer, but the enrolled peer is still heard.
  EXPECT_EQ(Feed("user-3", 1, 200), RejectReason::kUnknownSender);
  EXPECT_FALSE(Feed("user-1", 2, 200));
}

TEST_F(EnrollmentTest, ASnapshotRestoresEnrolledAndRememberedPeers) {
  EXPECT_FALSE(Feed("user-1", 3, 0));
  EXPECT_FALSE(Feed("user-2", 4, 20'000));
  node.RunDue(T(20'000));
  EXPECT_EQ(node.ForgetSilent(T(20'000)), 1u);  // user-1
  const PersistedState state = node.Snapshot(T(20'100), /*clean_stop=*/true);
  Node next(config, T(25'000));
  next.SetAuthentication(ring, true, true);
  next.Restore(state, T(25'000));
  ASSERT_TRUE(next.Find("user-2"));
  EXPECT_TRUE(next.peers()[*next.Find("user-2")].enrolled);
  ASSERT_TRUE(next.FindRemembered("user-1"));
  EXPECT_EQ(next.enrolled_count(), 1u);
  // The high-water marks survived: old numbers are replays, without any echo.
  EXPECT_EQ(next.OnDatagram(Heartbeat(&ring.primary(), "user-2", 7, 4), false, T(25'100)),
            RejectReason::kOldSequence);
  EXPECT_FALSE(next.OnDatagram(Heartbeat(&ring.primary(), "user-2", 7, 5), false, T(25'200)));
}

// The per-state counts are kept as peers change (CountByState is O(1)); after every kind
// of change they equal a recount of the table.
TEST_F(EnrollmentTest, StateCountsFollowEveryChange) {
  auto recount = [](const Node& n) {
    std::array<std::size_t, 5> counts{};
    for (const auto& p : n.peers()) ++counts[static_cast<std::size_t>(p.monitor.state())];
    return counts;
  };
  auto check = [&](const Node& n, const char* after) {
    EXPECT_EQ(n.CountByState(), recount(n)) << "after " << after;
  };
  check(node, "start");
  EXPECT_FALSE(Feed("user-1", 1, 0));
  check(node, "an enrollment");
  EXPECT_EQ(Feed("user-1", 1, 10), RejectReason::kOldSequence);
  EXPECT_FALSE(Feed("user-2", 1, 20));
  node.RunDue(T(1'000));
  check(node, "transitions to down");
  EXPECT_EQ(node.ForgetSilent(T(11'000)), 2u);
  check(node, "forgetting");
  EXPECT_EQ(Feed("user-1", 1, 11'100), RejectReason::kOldSequence);  // rolled back
  check(node, "a rolled-back enrollment");
  EXPECT_FALSE(Feed("user-2", 2, 11'200));
  check(node, "a remembered peer back");
  node.Reconfigure(EnrollingConfig("enabled: true, max_peers: 9"), T(11'300));
  check(node, "a reload");
  const PersistedState state = node.Snapshot(T(11'400), false);
  Node next(config, T(12'000));
  next.SetAuthentication(ring, true, true);
  next.Restore(state, T(12'000));
  check(next, "a restore");
}

TEST(EnrollmentConfig, RequiresAuthentication) {
  const auto r = LoadConfigString("node: {id: me}\nenrollment: {enabled: true}\n", "t.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "enrollment.enabled");
  EXPECT_NE(r.errors[0].message.find("requires security.require_auth"), std::string::npos);
  const auto bad = LoadConfigString(
      "node: {id: me}\nsecurity: {keyring: /k}\nenrollment: {id_pattern: \"a b\"}\n", "t.yaml");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].key, "enrollment.id_pattern");
}

}  // namespace
}  // namespace vigil
