// The per-peer state machine: every transition, restarts, leave, flapping and `rise`.
#include <gtest/gtest.h>

#include <vector>

#include "detector/detector_options.h"
#include "detector/peer_monitor.h"
#include "detector/timeout_detector.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

using testing::AtMs;
using namespace std::chrono_literals;

struct Recorder : TransitionSink {
  std::vector<Transition> events;
  void OnTransition(const Transition& t) override { events.push_back(t); }
};

class PeerMonitorTest : public ::testing::Test {
 protected:
  // A 1 s timeout detector makes the arithmetic obvious: down 1000 ms after the last heartbeat.
  PeerMonitor Make(std::optional<double> suspect = std::nullopt, std::uint32_t rise = 1) {
    return PeerMonitor(3, std::make_unique<TimeoutDetector>(TimeoutOptions{1000ms}),
                       MonitorOptions{suspect, rise});
  }
  void ExpectLast(PeerState from, PeerState to, TransitionReason reason) {
    ASSERT_FALSE(rec.events.empty());
    EXPECT_EQ(rec.events.back().from, from);
    EXPECT_EQ(rec.events.back().to, to);
    EXPECT_EQ(rec.events.back().reason, reason);
    EXPECT_EQ(rec.events.back().peer, 3u);
  }
  EventIdSource ids;
  Recorder rec;
};

TEST_F(PeerMonitorTest, StartsUnknownWithNoDeadline) {
  auto m = Make();
  EXPECT_EQ(m.state(), PeerState::kUnknown);
  EXPECT_FALSE(m.NextDeadline().has_value());
  m.Evaluate(AtMs(1e6), ids, rec);
  EXPECT_TRUE(rec.events.empty());
}

TEST_F(PeerMonitorTest, UnknownToUpToDownToUp) {
  auto m = Make();
  EXPECT_EQ(m.OnHeartbeat(AtMs(0), 1, ids, rec), Verdict::kAccepted);
  ExpectLast(PeerState::kUnknown, PeerState::kUp, TransitionReason::kFirstHeartbeat);
  EXPECT_EQ(*m.NextDeadline(), AtMs(1000));
  m.Evaluate(AtMs(999), ids, rec);
  EXPECT_EQ(m.state(), PeerState::kUp);
  m.Evaluate(AtMs(1000), ids, rec);
  ExpectLast(PeerState::kUp, PeerState::kDown, TransitionReason::kSilence);
  EXPECT_EQ(rec.events.back().at, AtMs(1000));
  EXPECT_GE(rec.events.back().level, 1.0);
  EXPECT_EQ(m.since(), AtMs(1000));
  EXPECT_FALSE(m.NextDeadline().has_value());
  m.OnHeartbeat(AtMs(1500), 1, ids, rec);
  ExpectLast(PeerState::kDown, PeerState::kUp, TransitionReason::kHeartbeat);
  EXPECT_EQ(m.flaps(), 1u);
}

TEST_F(PeerMonitorTest, SuspectLevelWarnsBeforeDown) {
  auto m = Make(0.5);
  m.OnHeartbeat(AtMs(0), 1, ids, rec);
  EXPECT_EQ(*m.NextDeadline(), AtMs(500));
  m.Evaluate(AtMs(500), ids, rec);
  ExpectLast(PeerState::kUp, PeerState::kSuspect, TransitionReason::kSuspicion);
  EXPECT_EQ(*m.NextDeadline(), AtMs(1000));
  m.Evaluate(AtMs(1000), ids, rec);
  ExpectLast(PeerState::kSuspect, PeerState::kDown, TransitionReason::kSilence);
  EXPECT_EQ(m.flaps(), 1u);  // one excursion from up, not two
}

TEST_F(PeerMonitorTest, SuspectBackToUpOnHeartbeat) {
  auto m = Make(0.5);
  m.OnHeartbeat(AtMs(0), 1, ids, rec);
  m.Evaluate(AtMs(600), ids, rec);
  ASSERT_EQ(m.state(), PeerState::kSuspect);
  m.OnHeartbeat(AtMs(700), 1, ids, rec);
  ExpectLast(PeerState::kSuspect, PeerState::kUp, TransitionReason::kHeartbeat);
}

TEST_F(PeerMonitorTest, LateEvaluationGoesStraightToDown) {
  auto m = Make(0.5);
  m.OnHeartbeat(AtMs(0), 1, ids, rec);
  m.Evaluate(AtMs(5000), ids, rec);
  ExpectLast(PeerState::kUp, PeerState::kDown, TransitionReason::kSilence);
  EXPECT_EQ(rec.events.size(), 2u);
}

TEST_F(PeerMonitorTest, RestartByNewIncarnation) {
  auto m = Make();
  m.OnHeartbeat(AtMs(0), 5, ids, rec);
  m.OnHeartbeat(AtMs(100), 6, ids, rec);  // restarted before anyone noticed
  ExpectLast(PeerState::kUp, PeerState::kUp, TransitionReason::kRestart);
  EXPECT_EQ(rec.events.back().incarnation, 6u);
  EXPECT_EQ(m.incarnation(), 6u);
  m.Evaluate(AtMs(1100), ids, rec);
  ASSERT_EQ(m.state(), PeerState::kDown);
  m.OnHeartbeat(AtMs(3000), 7, ids, rec);
  ExpectLast(PeerState::kDown, PeerState::kUp, TransitionReason::kRestart);
}

TEST_F(PeerMonitorTest, OldIncarnationIsIgnored) {
  auto m = Make();
  m.OnHeartbeat(AtMs(0), 5, ids, rec);
  const auto before = rec.events.size();
  EXPECT_EQ(m.OnHeartbeat(AtMs(900), 4, ids, rec), Verdict::kStaleIncarnation);
  EXPECT_EQ(m.OnLeave(AtMs(900), 4, ids, rec), Verdict::kStaleIncarnation);
  EXPECT_EQ(rec.events.size(), before);
  // The stale heartbeat did not refresh the detector.
  EXPECT_EQ(*m.detector().last_heartbeat(), AtMs(0));
}

TEST_F(PeerMonitorTest, LeaveIsNotAFailure) {
  auto m = Make();
  m.OnHeartbeat(AtMs(0), 1, ids, rec);
  EXPECT_EQ(m.OnLeave(AtMs(50), 1, ids, rec), Verdict::kAccepted);
  ExpectLast(PeerState::kUp, PeerState::kLeft, TransitionReason::kLeave);
  EXPECT_FALSE(m.NextDeadline().has_value());
  m.Evaluate(AtMs(1e6), ids, rec);
  EXPECT_EQ(m.state(), PeerState::kLeft);
  EXPECT_EQ(m.flaps(), 0u);
  // A straggling heartbeat of the same incarnation does not resurrect it ...
  EXPECT_EQ(m.OnHeartbeat(AtMs(60), 1, ids, rec), Verdict::kAfterLeave);
  EXPECT_EQ(m.OnLeave(AtMs(70), 1, ids, rec), Verdict::kAfterLeave);
  EXPECT_EQ(m.state(), PeerState::kLeft);
  // ... a new incarnation does.
  m.OnHeartbeat(AtMs(2000), 2, ids, rec);
  ExpectLast(PeerState::kLeft, PeerState::kUp, TransitionReason::kRestart);
}

TEST_F(PeerMonitorTest, LeaveFromUnknownAndFromDown) {
  auto m = Make();
  m.OnLeave(AtMs(0), 1, ids, rec);
  ExpectLast(PeerState::kUnknown, PeerState::kLeft, TransitionReason::kLeave);
  auto n = PeerMonitor(3, std::make_unique<TimeoutDetector>(TimeoutOptions{1000ms}), {});
  n.OnHeartbeat(AtMs(0), 1, ids, rec);
  n.Evaluate(AtMs(1000), ids, rec);
  n.OnLeave(AtMs(1200), 1, ids, rec);
  ExpectLast(PeerState::kDown, PeerState::kLeft, TransitionReason::kLeave);
}

TEST_F(PeerMonitorTest, RiseNeedsConsecutiveHeartbeats) {
  auto m = Make(std::nullopt, 3);
  m.OnHeartbeat(AtMs(0), 1, ids, rec);
  m.Evaluate(AtMs(1000), ids, rec);
  ASSERT_EQ(m.state(), PeerState::kDown);
  m.OnHeartbeat(AtMs(2000), 1, ids, rec);
  m.OnHeartbeat(AtMs(2100), 1, ids, rec);
  EXPECT_EQ(m.state(), PeerState::kDown);
  EXPECT_EQ(m.rise_progress(), 2u);
  m.OnHeartbeat(AtMs(2200), 1, ids, rec);
  ExpectLast(PeerState::kDown, PeerState::kUp, TransitionReason::kHeartbeat);
}

TEST_F(PeerMonitorTest, RiseStartsOverAfterSilenceConvictsAgain) {
  auto m = Make(std::nullopt, 2);
  m.OnHeartbeat(AtMs(0), 1, ids, rec);
  m.Evaluate(AtMs(1000), ids, rec);
  m.OnHeartbeat(AtMs(2000), 1, ids, rec);
  EXPECT_EQ(m.rise_progress(), 1u);
  ASSERT_TRUE(m.NextDeadline().has_value());  // watches for the run breaking
  m.Evaluate(AtMs(3000), ids, rec);
  EXPECT_EQ(m.rise_progress(), 0u);
  m.OnHeartbeat(AtMs(3500), 1, ids, rec);
  EXPECT_EQ(m.state(), PeerState::kDown);  // 1 of 2 again
  // Even without an Evaluate in between, a gap past the timeout breaks the run.
  m.OnHeartbeat(AtMs(5000), 1, ids, rec);
  EXPECT_EQ(m.state(), PeerState::kDown);
  m.OnHeartbeat(AtMs(5100), 1, ids, rec);
  EXPECT_EQ(m.state(), PeerState::kUp);
}

TEST_F(PeerMonitorTest, FlappingCountsEveryExcursion) {
  auto m = Make();
  double t = 0;
  m.OnHeartbeat(AtMs(t), 1, ids, rec);
  for (int i = 0; i < 5; ++i) {
    t += 1000;
    m.Evaluate(AtMs(t), ids, rec);
    ASSERT_EQ(m.state(), PeerState::kDown);
    t += 10;
    m.OnHeartbeat(AtMs(t), 1, ids, rec);
    ASSERT_EQ(m.state(), PeerState::kUp);
  }
  EXPECT_EQ(m.flaps(), 5u);
  EXPECT_EQ(rec.events.size(), 11u);
}

TEST_F(PeerMonitorTest, EventIdsStrictlyIncreaseAcrossPeers) {
  auto a = Make();
  auto b = PeerMonitor(4, std::make_unique<TimeoutDetector>(TimeoutOptions{500ms}), {});
  for (int i = 0; i < 10; ++i) {
    a.OnHeartbeat(AtMs(i * 2000), 1, ids, rec);
    b.OnHeartbeat(AtMs(i * 2000 + 1), 1, ids, rec);
    a.Evaluate(AtMs(i * 2000 + 1500), ids, rec);
    b.Evaluate(AtMs(i * 2000 + 1500), ids, rec);
  }
  ASSERT_GT(rec.events.size(), 20u);
  for (std::size_t i = 1; i < rec.events.size(); ++i) {
    EXPECT_GT(rec.events[i].id, rec.events[i - 1].id);
  }
}

TEST_F(PeerMonitorTest, DeadlineFiringAlwaysFindsItsTransition) {
  // The decision and the deadline come from the same crossing time, so evaluating exactly
  // at NextDeadline() always transitions (a daemon never spins on an unfired deadline).
  for (const auto& [kind, suspect] : {std::pair{DetectorKind::kPhi, 4.0},
                                      std::pair{DetectorKind::kAdaptive, 0.6}}) {
    SCOPED_TRACE(std::string(DetectorKindName(kind)));
    DetectorOptions options;
    options.set_kind(kind);
    PeerMonitor m(0, MakeDetector(options, 100ms), MonitorOptions{suspect, 1});
    double t = 0;
    for (int i = 0; i < 50; ++i, t += 97 + (i % 7)) {
      m.OnHeartbeat(AtMs(t), 1, ids, rec, static_cast<std::uint64_t>(i + 1));
    }
    auto d1 = m.NextDeadline();
    ASSERT_TRUE(d1);
    m.Evaluate(*d1, ids, rec);
    EXPECT_EQ(m.state(), PeerState::kSuspect);
    auto d2 = m.NextDeadline();
    ASSERT_TRUE(d2);
    EXPECT_GT(*d2, *d1);
    m.Evaluate(*d2, ids, rec);
    EXPECT_EQ(m.state(), PeerState::kDown);
  }
}

}  // namespace
}  // namespace vigil
