// Replays: a datagram recorded at any moment and sent again later never makes a peer up or
// keeps it up, across restarts of the receiver (clean or killed) and of the sender.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include <fmt/format.h>

#include "daemon/event_resume.h"
#include "daemon/node.h"
#include "tests/unit/test_time.h"
#include "transport/keyring.h"

namespace vigil {
namespace {

using testing::AtMs;

constexpr std::uint64_t kPeerInc = 1'700'000'000'000'000;
constexpr std::uint64_t kRun1 = 1'800'000'000'000'000;  // the receiver's incarnations
constexpr std::uint64_t kRun2 = 1'800'000'100'000'000;

Config TestConfig() {
  auto r = LoadConfigString(R"(node:
  id: me
heartbeat:
  interval: 100ms
detector:
  kind: timeout
  timeout: 500ms
peers:
  - id: p
    address: 10.0.0.1
)", "t.yaml");
  EXPECT_TRUE(r.ok());
  return *r.config;
}

Timestamp T(double ms) {
  return {AtMs(ms), WallTime(std::chrono::milliseconds(1'800'000'000'000LL +
                                                       static_cast<long long>(ms)))};
}

Keyring Ring() {
  return *Keyring::Parse(GenerateKeyBase64());
}

// A heartbeat of `p` as a real sender makes it: echoing what it heard of us, signed.
std::vector<std::uint8_t> Heartbeat(const Keyring* ring, std::uint64_t seq,
                                    std::optional<std::uint64_t> echo,
                                    std::uint64_t inc = kPeerInc) {
  Message m;
  m.sender_id = "p";
  m.incarnation = inc;
  m.sequence = seq;
  m.interval_us = 100000;
  std::vector<std::uint8_t> d(kMaxMessageSize);
  std::size_t n = Encode(m, d);
  if (echo) SetEcho(d, *echo);
  if (ring) n = Sign(d, n, ring->primary());
  d.resize(n);
  return d;
}

PeerState StateOf(const Node& n) { return n.peers()[0].monitor.state(); }

struct Receiver {
  Receiver(std::uint64_t own, const Keyring* ring, bool echo, double start_ms)
      : node(TestConfig(), T(start_ms)) {
    node.set_own_incarnation(own);
    if (ring) node.SetAuthentication(*ring, true, echo);
  }
  std::optional<RejectReason> Feed(const std::vector<std::uint8_t>& d, double at) {
    return node.OnDatagram(d, false, T(at));
  }
  Node node;
};

TEST(Echo, AnUnconfirmedIncarnationMustEchoOurs) {
  const Keyring ring = Ring();
  Receiver r(kRun1, &ring, true, 0);
  // Recorded before this run of ours: no echo, or an echo of an earlier run.
  EXPECT_EQ(r.Feed(Heartbeat(&ring, 1, std::nullopt), 0), RejectReason::kUnconfirmed);
  EXPECT_EQ(r.Feed(Heartbeat(&ring, 2, kRun1 - 1), 10), RejectReason::kUnconfirmed);
  EXPECT_EQ(StateOf(r.node), PeerState::kUnknown);
  // But the echo we learn is what the peer proved it has.
  EXPECT_EQ(r.node.peers()[0].echo, kPeerInc);
  EXPECT_FALSE(r.Feed(Heartbeat(&ring, 5, kRun1), 20));
  EXPECT_EQ(StateOf(r.node), PeerState::kUp);
  // Confirmed: later datagrams of that incarnation need no echo; older ones are replays.
  EXPECT_FALSE(r.Feed(Heartbeat(&ring, 6, std::nullopt), 120));
  EXPECT_EQ(r.Feed(Heartbeat(&ring, 4, std::nullopt), 130), RejectReason::kOldSequence);
  EXPECT_EQ(r.Feed(Heartbeat(&ring, 2, kRun1 - 1), 140), RejectReason::kOldSequence);
  // The confirmation skips no heartbeat as lost: numbers before it were not for us.
  EXPECT_EQ(r.node.peers()[0].sequence.lost(), 0u);
  // A new incarnation (the sender restarted) must be confirmed again.
  EXPECT_EQ(r.Feed(Heartbeat(&ring, 1, std::nullopt, kPeerInc + 1), 150),
            RejectReason::kUnconfirmed);
  EXPECT_FALSE(r.Feed(Heartbeat(&ring, 2, kRun1, kPeerInc + 1), 160));
}

TEST(Echo, RecordingsFromAnEarlierRunOfTheReceiverNeverRevive) {
  const Keyring ring = Ring();
  std::vector<std::vector<std::uint8_t>> recorded;
  Receiver first(kRun1, &ring, true, 0);
  for (std::uint64_t s = 1; s <= 15; ++s) {
    recorded.push_back(Heartbeat(&ring, s, kRun1));
    EXPECT_FALSE(first.Feed(recorded.back(), 100.0 * static_cast<double>(s)));
  }
  // The peer dies; the receiver is killed and starts again with no state file at all.
  Receiver second(kRun2, &ring, true, 10'000);
  for (std::size_t i = 0; i < recorded.size(); ++i) {
    EXPECT_EQ(second.Feed(recorded[i], 10'000 + 10.0 * static_cast<double>(i)),
              RejectReason::kUnconfirmed);
  }
  EXPECT_EQ(StateOf(second.node), PeerState::kUnknown);
  EXPECT_EQ(second.node.counters().rejected[static_cast<std::size_t>(RejectReason::kUnconfirmed)],
            15u);
}

TEST(Echo, IsIgnoredWithoutAKeyring) {
  Receiver r(kRun1, nullptr, false, 0);
  r.node.SetAuthentication(std::nullopt, false, true);
  EXPECT_FALSE(r.Feed(Heartbeat(nullptr, 1, std::nullopt), 0));
}

// The persisted high-water mark: with echoes off (or a sender that cannot echo), the
// state file alone keeps recordings from before a restart out.
class HighWaterMark : public ::testing::TestWithParam<bool> {};

TEST_P(HighWaterMark, RecordedDatagramsAreOldAfterARestart) {
  const bool clean = GetParam();
  const Keyring ring = Ring();
  std::vector<std::vector<std::uint8_t>> recorded;
  Receiver first(kRun1, &ring, false, 0);
  for (std::uint64_t s = 1; s <= 15; ++s) {
    recorded.push_back(Heartbeat(&ring, s, std::nullopt));
    EXPECT_FALSE(first.Feed(recorded.back(), 100.0 * static_cast<double>(s)));
  }
  // A kill leaves a file up to StateWriteInterval old: written after heartbeat 5 only.
  const std::uint64_t persisted_upto = clean ? 15 : 5;
  PersistedState saved = first.node.Snapshot(T(1500), clean);
  saved.peers[0].sequence = persisted_upto;
  first.node.RunDue(T(3000));
  ASSERT_EQ(StateOf(first.node), PeerState::kDown);
  saved.peers[0].state = "down";

  Receiver second(kRun2, &ring, false, 10'000);
  second.node.Restore(saved, T(10'000));
  EXPECT_EQ(StateOf(second.node), PeerState::kDown);  // kept, not unknown
  for (std::size_t i = 0; i < recorded.size(); ++i) {
    EXPECT_EQ(second.Feed(recorded[i], 10'000 + 10.0 * static_cast<double>(i)),
              RejectReason::kOldSequence) << "heartbeat " << i + 1;
  }
  EXPECT_EQ(StateOf(second.node), PeerState::kDown);
  // The live sender, far ahead by now, is accepted.
  EXPECT_FALSE(second.Feed(Heartbeat(&ring, 500, std::nullopt), 10'500));
  EXPECT_EQ(StateOf(second.node), PeerState::kUp);
}

INSTANTIATE_TEST_SUITE_P(CleanAndKilled, HighWaterMark, ::testing::Bool());

TEST(Restore, AnUpPeerNotHeardAgainGoesDownOnSilence) {
  Receiver first(kRun1, nullptr, false, 0);
  EXPECT_FALSE(first.Feed(Heartbeat(nullptr, 1, std::nullopt), 0));
  const PersistedState saved = first.node.Snapshot(T(50), true);
  ASSERT_EQ(saved.peers[0].state, "up");

  Receiver second(kRun2, nullptr, false, 10'000);
  std::vector<EventRecord> events;
  second.node.set_event_listener([&](const EventRecord& e) { events.push_back(e); });
  second.node.Restore(saved, T(10'000));
  EXPECT_EQ(StateOf(second.node), PeerState::kUp);
  EXPECT_EQ(second.node.peers()[0].since_wall, T(0).wall);
  // Allowance: a fresh detector's bound (500 ms) and two rounds: not before, but then.
  ASSERT_NE(second.node.NextWakeup(), kNever);
  second.node.RunDue(T(10'600));
  EXPECT_EQ(StateOf(second.node), PeerState::kUp);
  second.node.RunDue(T(10'700));
  EXPECT_EQ(StateOf(second.node), PeerState::kDown);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, TransitionReason::kSilence);
  EXPECT_GT(events[0].id, kRun2);  // ids of a run start above its incarnation
}

TEST(Restore, AHeardUpPeerStaysUpWithoutAnEventAndARestartIsOne) {
  Receiver first(kRun1, nullptr, false, 0);
  EXPECT_FALSE(first.Feed(Heartbeat(nullptr, 1, std::nullopt), 0));
  const PersistedState saved = first.node.Snapshot(T(50), true);
  Receiver second(kRun2, nullptr, false, 10'000);
  std::vector<EventRecord> events;
  second.node.set_event_listener([&](const EventRecord& e) { events.push_back(e); });
  second.node.Restore(saved, T(10'000));
  EXPECT_FALSE(second.Feed(Heartbeat(nullptr, 90, std::nullopt), 10'100));
  EXPECT_EQ(StateOf(second.node), PeerState::kUp);
  EXPECT_TRUE(events.empty());
  EXPECT_FALSE(second.Feed(Heartbeat(nullptr, 1, std::nullopt, kPeerInc + 5), 10'200));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, TransitionReason::kRestart);
}

TEST(Restore, EventIdsContinueAboveThePreviousRun) {
  Receiver first(kRun1, nullptr, false, 0);
  EXPECT_FALSE(first.Feed(Heartbeat(nullptr, 1, std::nullopt), 0));
  EXPECT_GT(first.node.last_event_id(), kRun1);
  PersistedState saved = first.node.Snapshot(T(50), true);
  EXPECT_EQ(saved.last_event_id, first.node.last_event_id());
  // Even if the next run's incarnation is lower (a wall clock stepped back).
  saved.last_event_id = kRun2 + 1000;
  Receiver second(kRun2, nullptr, false, 10'000);
  second.node.Restore(saved, T(10'000));
  EXPECT_EQ(second.node.event_history().run_base, kRun2 + 1000);
  second.node.RunDue(T(20'000));
  EXPECT_GT(second.node.last_event_id(), kRun2 + 1000);
}

// A client resuming the event stream with an id from an earlier run of vigild gets a gap
// and the current states (never silence), except after the last id of a clean stop.
TEST(Resume, AnIdFromAnEarlierRunIsAGapUnlessItWasTheLastOfACleanStop) {
  Receiver first(kRun1, nullptr, false, 0);
  EXPECT_FALSE(first.Feed(Heartbeat(nullptr, 1, std::nullopt), 0));  // unknown -> up
  first.node.RunDue(T(5'000));                                         // up -> down
  bool evicted = false;
  const std::uint64_t first_id = first.node.events().After(0, &evicted).front().id;
  const std::uint64_t last_id = first.node.last_event_id();
  ASSERT_LT(first_id, last_id);
  for (const bool clean : {true, false}) {
    SCOPED_TRACE(clean ? "clean stop" : "killed");
    Receiver second(kRun2, nullptr, false, 10'000);
    second.node.Restore(first.node.Snapshot(T(6'000), clean), T(10'000));
    // Small ids (a client of an older run, Last-Event-ID: 5) and ids of the previous run.
    EXPECT_EQ(ResumeGap(second.node, 5), GapReason::kRestart);
    EXPECT_EQ(ResumeGap(second.node, first_id), GapReason::kRestart);
    EXPECT_EQ(ResumeGap(second.node, last_id),
              clean ? GapReason::kNone : GapReason::kRestart);
    // Never issued: above the newest id.
    EXPECT_EQ(ResumeGap(second.node, second.node.last_event_id() + 1), GapReason::kUnknown);
    const std::string preamble = ResumePreamble(second.node, 5);
    EXPECT_NE(preamble.find("event: gap\ndata: {\"after\":5,\"reason\":\"restart\""),
              std::string::npos)
        << preamble;
    EXPECT_NE(preamble.find("event: state\ndata: {\"peer\":\"p\",\"state\":\"down\""),
              std::string::npos)
        << preamble;
  }
}

TEST(Resume, EvictedEventsOfThisRunAreAGapAndKeptOnesAreReplayed) {
  Config config = TestConfig();
  config.events.ring_size = 16;
  Node node(config, T(0));
  node.set_own_incarnation(kRun1);
  std::uint64_t seq = 0;
  for (int i = 0; i < 20; ++i) {  // 40 transitions: up, then down on silence
    const double at = 1'000.0 * i;
    ASSERT_FALSE(node.OnDatagram(Heartbeat(nullptr, ++seq, std::nullopt), false, T(at)));
    node.RunDue(T(at + 900));
  }
  const std::uint64_t newest = node.last_event_id();
  EXPECT_EQ(ResumeGap(node, newest), GapReason::kNone);
  EXPECT_EQ(ResumeGap(node, newest - 3), GapReason::kNone);
  const std::string replay = ResumePreamble(node, newest - 3);
  EXPECT_EQ(replay.find("event: gap"), std::string::npos);
  EXPECT_NE(replay.find(fmt::format("id: {}\n", newest)), std::string::npos);
  EXPECT_EQ(ResumeGap(node, kRun1 + 1), GapReason::kEvicted);  // the first id of this run
}

}  // namespace
}  // namespace vigil
