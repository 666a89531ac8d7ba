// Detection quality: trace files, replay, the Chen–Toueg–Aguilera figures on hand-made traces
// with answers worked out by hand, the trace generator and the adaptive detector.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "daemon/trace_recorder.h"
#include "detector/adaptive_detector.h"
#include "detector/phi_accrual_detector.h"
#include "quality/replay.h"
#include "quality/trace_generator.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using testing::AtMs;

Trace Parse(const std::string& text) {
  std::istringstream in(text);
  auto r = ParseTrace(in, "t.csv");
  EXPECT_TRUE(r.trace) << r.error;
  return r.trace ? *r.trace : Trace{};
}

std::string ParseError(const std::string& text) {
  std::istringstream in(text);
  auto r = ParseTrace(in, "t.csv");
  EXPECT_FALSE(r.trace);
  return r.error;
}

TEST(TraceFile, ParsesRowsWithAndWithoutSendTimes) {
  const Trace t = Parse("seq,send_ms,recv_ms\n1,0.5,10.25\n3,,20\n\n");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].seq, 1u);
  EXPECT_DOUBLE_EQ(*t.rows[0].send_ms, 0.5);
  EXPECT_DOUBLE_EQ(t.rows[0].recv_ms, 10.25);
  EXPECT_FALSE(t.rows[1].send_ms);
  std::ostringstream out;
  WriteTrace(out, t);
  EXPECT_EQ(out.str(), "seq,send_ms,recv_ms\n1,0.500,10.250\n3,,20.000\n");
}

TEST(TraceFile, RejectsBadInputNamingTheLine) {
  EXPECT_EQ(ParseError(""), "t.csv:0: empty: expected the header 'seq,send_ms,recv_ms'");
  EXPECT_EQ(ParseError("seq,recv_ms\n"),
            "t.csv:1: expected the header 'seq,send_ms,recv_ms', found 'seq,recv_ms'");
  EXPECT_EQ(ParseError("seq,send_ms,recv_ms\n1,,5\n2,,x\n"),
            "t.csv:3: recv_ms: expected a number, found 'x'");
  EXPECT_EQ(ParseError("seq,send_ms,recv_ms\n0,,5\n"),
            "t.csv:2: seq: expected a positive integer, found '0'");
  EXPECT_EQ(ParseError("seq,send_ms,recv_ms\n1,,5,6\n"),
            "t.csv:2: expected 3 fields (seq,send_ms,recv_ms), found more");
  EXPECT_EQ(ParseError("seq,send_ms,recv_ms\n1,,5\n2,,4\n"),
            "t.csv:3: recv_ms goes backwards (4 after 5): rows must be in arrival order");
  EXPECT_EQ(ParseError("seq,send_ms,recv_ms\n1,nan,5\n"),
            "t.csv:2: send_ms: expected a number or nothing, found 'nan'");
}

// Every 100 ms from send time 0; heartbeat 4 is delayed by 310 ms, 6 and 7 are lost.
// With a 250 ms timeout (worked out by hand):
//   S = recv + 250 for each row;
//   after seq 3 (recv 210) suspicion at 460, seq 4 arrives at 610: mistake of 150 ms;
//   after seq 5 (recv 700) suspicion at 950, seq 8 arrives at 1010: mistake of 60 ms;
//   observed 10..1100 = 1090 ms, so P_A = 1 - 210/1090;
//   T_D = S - send = 260, 260, 260, 560, 550, 560, 550: mean 3000/7, p50 550, max 560.
const char* kHandTrace =
    "seq,send_ms,recv_ms\n"
    "1,0,10\n"
    "2,100,110\n"
    "3,200,210\n"
    "4,300,610\n"
    "5,400,700\n"
    "8,700,1010\n"
    "9,800,1100\n";

DetectorOptions Timeout(Duration d) {
  DetectorOptions o;
  o.set_kind(DetectorKind::kTimeout);
  std::get<TimeoutKnobs>(o.knobs).timeout = d;
  return o;
}

TEST(Qos, HandMadeTraceWithATimeout) {
  const Trace t = Parse(kHandTrace);
  const auto s = Replay(t, Timeout(250ms), 100ms);
  ASSERT_EQ(s.size(), 7u);
  EXPECT_DOUBLE_EQ(s[3], 860);
  const QosFigures q = ScoreQos(t, s);
  EXPECT_EQ(q.heartbeats, 7u);
  EXPECT_EQ(q.mistakes, 2u);
  EXPECT_DOUBLE_EQ(q.mistake_mean_ms, 105);
  EXPECT_NEAR(q.observed_hours, 1090.0 / 3'600'000, 1e-12);
  EXPECT_NEAR(q.mistakes_per_hour, 2 / (1090.0 / 3'600'000), 1e-6);
  EXPECT_NEAR(q.query_accuracy, 1 - 210.0 / 1090, 1e-12);
  EXPECT_TRUE(q.send_times_known);
  EXPECT_NEAR(q.detection_mean_ms, 3000.0 / 7, 1e-9);
  EXPECT_DOUBLE_EQ(q.detection_p50_ms, 550);
  EXPECT_DOUBLE_EQ(q.detection_max_ms, 560);
  EXPECT_EQ(q.never_detected, 0u);
}

TEST(Qos, ALongerTimeoutMakesNoMistakeAndDetectionFallsBackToReceiveTimes) {
  // Without send times, T_D = S - recv = the timeout itself for every row.
  const Trace t = Parse("seq,send_ms,recv_ms\n1,,10\n2,,110\n3,,520\n4,,600\n");
  const QosFigures q = ScoreQos(t, Replay(t, Timeout(450ms), 100ms));
  EXPECT_EQ(q.mistakes, 0u);
  EXPECT_DOUBLE_EQ(q.query_accuracy, 1.0);
  EXPECT_FALSE(q.send_times_known);
  EXPECT_DOUBLE_EQ(q.detection_mean_ms, 450);
  EXPECT_DOUBLE_EQ(q.detection_max_ms, 450);
}

TEST(Qos, AReorderedHeartbeatNeitherEndsASuspicionNorTeachesTheDetector) {
  // seq 2 arrives after seq 3: it is not news. The suspicion after seq 3 (at 700) is ended
  // by seq 4 at 900, not by the late seq 2 at 750.
  const Trace t = Parse("seq,send_ms,recv_ms\n1,0,0\n3,200,400\n2,100,750\n4,300,900\n");
  const auto s = Replay(t, Timeout(300ms), 100ms);
  EXPECT_DOUBLE_EQ(s[2], s[1]);  // the late row leaves the detector as it was
  const QosFigures q = ScoreQos(t, s);
  EXPECT_EQ(q.mistakes, 2u);  // 300 < 400 and 700 < 900
  EXPECT_DOUBLE_EQ(q.mistake_mean_ms, (100 + 200) / 2.0);
}

TEST(Qos, HindsightBestTimeoutIsTheGapItMayMiss) {
  const Trace t = Parse(kHandTrace);  // gaps 100 100 400 90 310 90 over 1090 ms
  EXPECT_EQ(HindsightBestTimeout(t, 0.0), 400ms);
  // One mistake allowed in 1090 ms = 3302.75 per hour: the 400 ms gap may be missed.
  EXPECT_EQ(HindsightBestTimeout(t, 3303), 310ms);
  const QosFigures q = ScoreQos(t, Replay(t, Timeout(HindsightBestTimeout(t, 0.0)), 100ms));
  EXPECT_EQ(q.mistakes, 0u);
}

TEST(Replay, AkkaSettingsGiveExactlyThePhiDetectorsCrossingTimes) {
  TraceGeneratorOptions g;
  g.scenario = TraceScenario::kWan;
  g.length = 10min;
  const Trace t = GenerateTrace(g);
  auto spec = ParseDetectorSpec(
      "phi:threshold=8,max_sample_size=1000,min_std_deviation=100ms,"
      "acceptable_heartbeat_pause=3s,first_heartbeat_estimate=1s");
  ASSERT_TRUE(spec.ok()) << spec.message();
  const auto s = Replay(t, spec->options, 100ms);

  // Akka's detector, built directly from its options, fed the same arrivals.
  PhiAccrualOptions akka;
  akka.threshold = 8;
  akka.max_sample_size = 1000;
  akka.min_std_deviation = 100ms;
  akka.acceptable_heartbeat_pause = 3s;
  akka.first_heartbeat_estimate = 1s;
  PhiAccrualDetector d(akka);
  ASSERT_EQ(s.size(), t.rows.size());
  std::uint64_t newest = 0;
  std::size_t checked = 0;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    // Replay puts trace milliseconds on the detector's clock rounded to the nanosecond.
    const auto at = MonoTime{} + Duration(std::llround(t.rows[i].recv_ms * 1e6));
    if (t.rows[i].seq > newest) {
      newest = t.rows[i].seq;
      d.Heartbeat(at);
    }
    const auto crossing = d.CrossingTime(8);
    ASSERT_TRUE(crossing);
    const double expected = static_cast<double>((*crossing - MonoTime{}).count()) / 1e6;
    ASSERT_EQ(s[i], expected) << "row " << i;
    // And it is where phi reaches 8: just below it before, at or above it from then on.
    ASSERT_GE(d.Level(*crossing), 8.0) << "row " << i;
    ASSERT_LT(d.Level(*crossing - 1us), 8.0) << "row " << i;
    ++checked;
  }
  EXPECT_GT(checked, 5000u);
}

TEST(Replay, DetectorSpecErrorsNameTheKey) {
  EXPECT_EQ(ParseDetectorSpec("phi:threshhold=8").message(),
            "--detector phi:threshhold=8: detector.threshhold: unknown key; did you mean "
            "'threshold'?");
  EXPECT_EQ(ParseDetectorSpec("adaptive:margin").message(),
            "--detector adaptive:margin: expected key=value, found 'margin'");
  EXPECT_NE(ParseDetectorSpec("gossip").message().find("expected one of adaptive, phi"),
            std::string::npos);
  const auto ok = ParseDetectorSpec("timeout:timeout=450ms");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->options.kind(), DetectorKind::kTimeout);
  EXPECT_EQ(std::get<TimeoutKnobs>(ok->options.knobs).timeout, 450ms);
}

TEST(Replay, InfersTheIntervalFromSequenceSteps) {
  const Trace t = Parse(kHandTrace);
  const auto d = InferInterval(t);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, 100ms);  // median of 100, 100, 400, 90, 103.3, 90 per step
}

TEST(TraceGenerator, IsDeterministicPerSeedAndDiffersAcrossSeeds) {
  TraceGeneratorOptions g;
  g.scenario = TraceScenario::kBursty;
  g.length = 5min;
  const Trace a = GenerateTrace(g);
  const Trace b = GenerateTrace(g);
  g.seed = 2;
  const Trace c = GenerateTrace(g);
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (std::size_t i = 0; i < a.rows.size(); ++i) {
    ASSERT_EQ(a.rows[i].seq, b.rows[i].seq);
    ASSERT_EQ(a.rows[i].recv_ms, b.rows[i].recv_ms);
  }
  bool differs = a.rows.size() != c.rows.size();
  for (std::size_t i = 0; !differs && i < a.rows.size(); ++i) differs = a.rows[i].recv_ms != c.rows[i].recv_ms;
  EXPECT_TRUE(differs);
}

// What each scenario is meant to contain, measured on the output.
struct Shape {
  double loss = 0;         // fraction of sequence numbers missing
  std::uint64_t max_run = 0;  // longest run of consecutive losses
  double max_gap_ms = 0;   // longest silence between arrivals
  double median_delay_ms = 0;
};

Shape Measure(const Trace& t) {
  Shape s;
  std::uint64_t newest = 0, received = 0;
  std::vector<double> delays;
  double prev = -1;
  for (const auto& r : t.rows) {
    if (prev >= 0) s.max_gap_ms = std::max(s.max_gap_ms, r.recv_ms - prev);
    prev = r.recv_ms;
    delays.push_back(r.recv_ms - *r.send_ms);
    if (r.seq > newest) {
      if (newest > 0) s.max_run = std::max(s.max_run, r.seq - newest - 1);
      newest = r.seq;
    }
    ++received;
  }
  s.loss = 1.0 - static_cast<double>(received) / static_cast<double>(newest);
  std::nth_element(delays.begin(), delays.begin() + static_cast<std::ptrdiff_t>(delays.size() / 2), delays.end());
  s.median_delay_ms = delays[delays.size() / 2];
  return s;
}

TEST(TraceGenerator, ScenariosHaveTheirCharacter) {
  auto gen = [](TraceScenario sc) {
    TraceGeneratorOptions g;
    g.scenario = sc;
    g.length = 30min;
    return Measure(GenerateTrace(g));
  };
  const Shape lan = gen(TraceScenario::kLan), wan = gen(TraceScenario::kWan),
              bursty = gen(TraceScenario::kBursty), stalls = gen(TraceScenario::kStalls);
  EXPECT_LT(lan.median_delay_ms, 1);
  EXPECT_LT(lan.loss, 0.005);
  EXPECT_GT(wan.median_delay_ms, 30);
  EXPECT_GT(bursty.max_run, 3u);                 // losses come in bursts
  EXPECT_GT(bursty.loss, lan.loss * 3);
  EXPECT_GT(stalls.max_gap_ms, 1000);            // a stall of over a second
  EXPECT_LT(stalls.loss, 0.005);                 // catch-up: stalls lose nothing
}

TEST(AdaptiveDetector, LevelAndCrossingTimeAgree) {
  AdaptiveDetector d(AdaptiveOptions{100ms});
  EXPECT_FALSE(d.CrossingTime(1.0));
  for (int i = 0; i < 100; ++i) d.Heartbeat(AtMs(i * 100.0), static_cast<std::uint64_t>(i + 1));
  const auto c = d.CrossingTime(1.0);
  ASSERT_TRUE(c);
  EXPECT_GE(d.Level(*c), 1.0);
  EXPECT_LT(d.Level(*c - 1us), 1.0);
  EXPECT_DOUBLE_EQ(d.Level(AtMs(9900)), 0.0);
  EXPECT_NEAR(MillisBetween(AtMs(9900), *c), d.allowed_silence_ms(), 1e-3);
}

TEST(AdaptiveDetector, RegularHeartbeatsTightenTheDeadlineAsEvidenceGrows) {
  AdaptiveDetector d(AdaptiveOptions{100ms});
  int i = 0;
  auto run = [&](int n) {
    for (const int end = i + n; i < end; ++i) {
      d.Heartbeat(AtMs(i * 100.0 + (i % 3)), static_cast<std::uint64_t>(i + 1));
    }
  };
  run(50);
  const double fresh = d.allowed_silence_ms();
  run(3000);  // 5 minutes without a loss
  const double five_minutes = d.allowed_silence_ms();
  run(33000);  // an hour
  const double hour = d.allowed_silence_ms();
  EXPECT_LT(five_minutes, fresh);
  EXPECT_LT(hour, five_minutes);
  // After an hour without a loss, one lost heartbeat is still tolerated, two are not.
  EXPECT_EQ(d.loss_allowance(), 1);
  EXPECT_GT(hour, 200);
  EXPECT_LT(hour, 300);
}

TEST(AdaptiveDetector, LearnsBurstsOfLossFromSequenceNumbers) {
  AdaptiveDetector steady(AdaptiveOptions{100ms}), lossy(AdaptiveOptions{100ms});
  std::uint64_t seq = 0;
  for (int i = 0; i < 3000; ++i) {
    seq += (i % 100 == 0) ? 5 : 1;  // every 10 s, 4 heartbeats in a row are lost
    lossy.Heartbeat(AtMs(static_cast<double>(seq) * 100.0), seq);
    steady.Heartbeat(AtMs((i + 1) * 100.0), static_cast<std::uint64_t>(i + 1));
  }
  EXPECT_GE(lossy.loss_allowance(), 4);
  EXPECT_GT(lossy.allowed_silence_ms(), 500);
  EXPECT_LT(steady.allowed_silence_ms(), lossy.allowed_silence_ms());
}

// Calm spells (no queueing, no loss) alternate with noisy ones (30 ms of queueing, and every
// 10 s a run of one, two or three lost heartbeats), 10 and 4 minutes long.
TEST(AdaptiveDetector, RemembersNoisySpellsSeparatelyFromCalmOnes) {
  AdaptiveOptions o{100ms};
  AdaptiveDetector conditioned(o);
  o.per_condition = false;
  AdaptiveDetector overall(o);
  std::uint64_t seq = 0;
  int long_runs = 0, long_runs_suspected = 0;
  double calm_conditioned = 0, calm_overall = 0;
  for (int cycle = 0; cycle < 6; ++cycle) {
    for (int i = 0; i < 6000; ++i) {  // calm
      ++seq;
      conditioned.Heartbeat(AtMs(static_cast<double>(seq) * 100 + 0.2), seq);
      overall.Heartbeat(AtMs(static_cast<double>(seq) * 100 + 0.2), seq);
    }
    calm_conditioned = conditioned.allowed_silence_ms();
    calm_overall = overall.allowed_silence_ms();
    for (int i = 1; i <= 2400; ++i) {  // noisy
      const int run = i % 100 == 0 ? 1 + (i / 100) % 3 : 0;
      seq += 1 + static_cast<std::uint64_t>(run);
      if (run == 3 && cycle > 0) {
        ++long_runs;
        // The silence before this arrival was 400 ms: did the deadline allow it?
        if (400 > conditioned.allowed_silence_ms()) ++long_runs_suspected;
      }
      const double at = static_cast<double>(seq) * 100 + 30.2;
      conditioned.Heartbeat(AtMs(at), seq);
      overall.Heartbeat(AtMs(at), seq);
    }
  }
  // In calm, the noisy spells' losses do not make it patient...
  EXPECT_LT(calm_conditioned, 0.5 * calm_overall) << calm_conditioned << " vs " << calm_overall;
  EXPECT_LT(calm_conditioned, 250);
  // ...and once the queueing shows, it is as patient as the noisy spells taught it.
  EXPECT_EQ(long_runs, 5 * 8);
  EXPECT_EQ(long_runs_suspected, 0);
}

// The queueing delay is read from arrival offsets, so a sender whose clock runs fast or slow
// (here by 100 ppm, either way) must not look permanently congested or calm.
TEST(AdaptiveDetector, ConditionsSurviveClockDrift) {
  TraceGeneratorOptions g;
  g.scenario = TraceScenario::kRegimes;
  g.interval = 100ms;
  g.length = 12h;
  g.seed = 11;
  const Trace t = GenerateTrace(g);
  auto detection_ms = [&](double ppm, bool per_condition) {
    AdaptiveOptions o;
    o.heartbeat_interval = 100ms;
    o.per_condition = per_condition;
    AdaptiveDetector d(o);
    Trace drifted = t;
    for (auto& r : drifted.rows) {  // the sender's clock, and so its interval, stretched
      r.recv_ms *= 1 + ppm * 1e-6;
      r.send_ms = *r.send_ms * (1 + ppm * 1e-6);
    }
    std::vector<double> s;
    std::uint64_t newest = 0;
    for (const auto& r : drifted.rows) {
      if (r.seq > newest) {  // as Replay and vigild do: reordered heartbeats are dropped
        newest = r.seq;
        d.Heartbeat(AtMs(r.recv_ms), r.seq);
      }
      s.push_back(MillisBetween(AtMs(0), *d.CrossingTime(1.0)));
    }
    const QosFigures q = ScoreQos(drifted, s);
    EXPECT_LE(q.mistakes_per_hour, 1.0) << ppm << " ppm";
    return q.detection_mean_ms;
  };
  const double overall = detection_ms(0, false);
  for (double ppm : {0.0, 100.0, -100.0}) {
    EXPECT_LT(detection_ms(ppm, true), 0.85 * overall) << ppm << " ppm";
  }
}

TEST(AdaptiveDetector, LearnsRecurringStallsAndForgetsThemOverItsMemory) {
  AdaptiveOptions o{100ms};
  o.memory = 10min;
  AdaptiveDetector d(o);
  double t = 0;
  std::uint64_t seq = 0;
  auto beat = [&](double gap) {
    t += gap;
    d.Heartbeat(AtMs(t), ++seq);
  };
  auto stall = [&](double ms) {  // the sender stalls, then sends what it missed at once
    beat(ms);
    for (int i = 0; i < static_cast<int>(ms / 100) - 1; ++i) beat(0.1);
  };
  for (int i = 0; i < 600; ++i) beat(100);
  const double before = d.allowed_silence_ms();
  // One 10 s freeze: reported (the allowance was far shorter), and not taken as the norm.
  EXPECT_LT(before, 1000);
  stall(10'000);
  for (int i = 0; i < 50; ++i) beat(100);
  EXPECT_LT(d.allowed_silence_ms(), 2000);  // more patient for a while, but far from 10 s
  // A sender that stalls for 2 s every 30 s: within a few stalls the detector waits them out.
  for (int k = 0; k < 6; ++k) {
    stall(2000);
    for (int i = 0; i < 300; ++i) beat(100);
  }
  EXPECT_GT(d.allowed_silence_ms(), 2000);
  for (int i = 0; i < 6 * 600 * 6; ++i) beat(100);  // an hour: six half-lives
  EXPECT_LT(d.allowed_silence_ms(), before + 100);
}

TEST(AdaptiveDetector, AnOutageDoesNotTeachItToIgnoreTheNextOne) {
  AdaptiveDetector d(AdaptiveOptions{100ms});
  std::uint64_t seq = 0;
  double t = 0;
  for (int i = 0; i < 3000; ++i) d.Heartbeat(AtMs(t += 100), ++seq);
  const double before = d.allowed_silence_ms();
  for (int k = 0; k < 5; ++k) {
    seq += 20;  // a 2 s partition: 20 heartbeats lost
    t += 2000;
    for (int i = 0; i < 30; ++i) d.Heartbeat(AtMs(t += 100), ++seq);
    EXPECT_LT(d.allowed_silence_ms(), 1000) << "after partition " << k;
  }
  EXPECT_LT(d.allowed_silence_ms(), before + 200);
}

TEST(AdaptiveDetector, ASequenceJumpStartsAfresh) {
  AdaptiveDetector d(AdaptiveOptions{100ms});
  for (int i = 0; i < 100; ++i) d.Heartbeat(AtMs(i * 100.0), static_cast<std::uint64_t>(i + 1));
  const double before = d.allowed_silence_ms();
  const int allowance = d.loss_allowance();
  d.Heartbeat(AtMs(10000), 1'000'000);  // the sender's numbering jumped
  d.Heartbeat(AtMs(10100), 1'000'001);
  // Not read as 999 900 lost heartbeats: nothing learned changed.
  EXPECT_NEAR(d.allowed_silence_ms(), before, 50);
  EXPECT_EQ(d.loss_allowance(), allowance);
}

TEST(TraceRecorder, RotatesAtTheSizeLimitAndKeepsParseableFiles) {
  const std::string dir = ::testing::TempDir() + "/vigil-traces-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  TraceRecorder r(dir);
  RecordingConfig rc;
  rc.enabled = true;
  rc.max_file_bytes = 2000;
  rc.max_files = 3;
  PeerConfig a, b;
  a.id = "a";
  a.record = true;
  b.id = "b";
  b.record = false;
  r.Configure(rc, {a, b});
  EXPECT_TRUE(r.Recording("a"));
  EXPECT_FALSE(r.Recording("b"));
  for (std::uint64_t i = 1; i <= 1000; ++i) {
    r.OnArrival("a", 7, i, AtMs(static_cast<double>(i) * 100.0));
    r.OnArrival("b", 7, i, AtMs(static_cast<double>(i) * 100.0));
  }
  r.Flush();
  EXPECT_EQ(r.counters().rows, 1000u);
  EXPECT_GT(r.counters().rotations, 3u);
  EXPECT_FALSE(std::filesystem::exists(dir + "/b.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/a.csv.3"));
  std::uint64_t last_seq = 0;
  for (const char* name : {"a.csv.2", "a.csv.1", "a.csv"}) {
    const auto loaded = LoadTraceFile(dir + "/" + name);
    ASSERT_TRUE(loaded.trace) << loaded.error;
    EXPECT_LE(std::filesystem::file_size(dir + "/" + name), 2000u + 40u);
    ASSERT_FALSE(loaded.trace->rows.empty());
    EXPECT_GT(loaded.trace->rows.front().seq, last_seq);  // oldest to newest, nothing repeated
    last_seq = loaded.trace->rows.back().seq;
  }
  EXPECT_EQ(last_seq, 1000u);
  // A new incarnation of the sender starts a new file.
  r.OnArrival("a", 8, 1, AtMs(200'000));
  r.Flush();
  const auto fresh = LoadTraceFile(dir + "/a.csv");
  ASSERT_TRUE(fresh.trace);
  ASSERT_EQ(fresh.trace->rows.size(), 1u);
  EXPECT_EQ(fresh.trace->rows[0].seq, 1u);
  std::filesystem::remove_all(dir);
}

TEST(TraceRecorder, AnUnwritableDirectoryStopsRecordingWithACounterNotACrash) {
  TraceRecorder r("/proc/vigil-cannot-exist/traces");
  PeerConfig a;
  a.id = "a";
  a.record = true;
  r.Configure(RecordingConfig{}, {a});
  r.OnArrival("a", 1, 1, AtMs(0));
  r.OnArrival("a", 1, 2, AtMs(100));
  EXPECT_EQ(r.counters().errors, 1u);
  EXPECT_EQ(r.counters().rows, 0u);
  EXPECT_FALSE(r.Recording("a"));
  r.Configure(RecordingConfig{}, {a});  // a reload tries again
  EXPECT_TRUE(r.Recording("a"));
}

}  // namespace
}  // namespace vigil
