// Trace recording by a real vigild, and vigilctl replay on real files (tune:
// vigilctl_tune_test.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <vector>

#include <boost/json.hpp>

#include "quality/replay.h"
#include "quality/trace_generator.h"
#include "tests/integration/cluster.h"

namespace vigil {
namespace {

namespace json = boost::json;
using namespace vigil::testing;
using namespace std::chrono_literals;

// Runs two vigilds at 100 ms with recording on until n1 has recorded `rows` arrivals from
// n2, stops n1 cleanly (which flushes what is buffered) and loads its trace of n2 into *t.
// Returns the file's path.
std::string RecordTwoNodes(Cluster& c, double rows, Trace* t) {
  EXPECT_TRUE(c.StartAll()) << c.Logs();
  EXPECT_TRUE(WaitUntil([&] { return c.node(0).Metric("vigil_trace_rows_total") >= rows; }, 60s))
      << c.node(0).Log();
  EXPECT_EQ(c.node(0).Metric("vigil_traced_peers"), 1);
  EXPECT_EQ(c.node(0).Metric("vigil_trace_errors_total"), 0);
  c.node(0).Signal(SIGTERM);
  EXPECT_EQ(c.node(0).WaitExit(), 0);
  const std::string file = c.StateDir(0) + "/traces/n2.csv";
  const TraceResult loaded = LoadTraceFile(file);
  EXPECT_TRUE(loaded.trace) << loaded.error;
  if (loaded.trace) *t = *loaded.trace;
  return file;
}

ClusterOptions TwoRecordingNodes() {
  ClusterOptions o;
  o.nodes = 2;
  o.extra_yaml = "recording:\n  enabled: true\n";
  return o;
}

TEST(Recording, VigildRecordsArrivalsThatReplayLikeTheLibrary) {
  Cluster c(TwoRecordingNodes());
  Trace t;
  const std::string file = RecordTwoNodes(c, 30, &t);
  ASSERT_GE(t.rows.size(), 30u);
  for (std::size_t i = 1; i < t.rows.size(); ++i) {
    EXPECT_GT(t.rows[i].seq, t.rows[i - 1].seq);  // loopback does not reorder
    EXPECT_GE(t.rows[i].recv_ms, t.rows[i - 1].recv_ms);
    EXPECT_FALSE(t.rows[i].send_ms);
  }
  // The gaps are the 100 ms interval (±10 % send jitter), give or take scheduling.
  const auto interval = InferInterval(t);
  ASSERT_TRUE(interval);
  EXPECT_GT(*interval, 80ms);
  EXPECT_LT(*interval, 120ms);

  // vigilctl replay reports what the library computes for the same file.
  std::string out;
  ASSERT_EQ(RunCommand(VigilctlPath() + " replay --json --detector adaptive --detector "
                                        "timeout:timeout=1s " + file,
                       &out),
            0)
      << out;
  const json::value v = json::parse(out);
  const auto& results = v.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  const auto spec = ParseDetectorSpec("timeout:timeout=1s");
  ASSERT_TRUE(spec.ok());
  const QosFigures q = ScoreQos(t, Replay(t, spec->options, *interval));
  const auto& r = results[1].as_object();
  EXPECT_EQ(r.at("detector").as_string(), "timeout:timeout=1s");
  EXPECT_EQ(json::value_to<std::size_t>(r.at("heartbeats")), t.rows.size());
  EXPECT_EQ(json::value_to<std::size_t>(r.at("mistakes")), q.mistakes);
  EXPECT_NEAR(r.at("detection_mean_ms").to_number<double>(), q.detection_mean_ms, 0.001);
  EXPECT_EQ(r.at("detection_from").as_string(), "receive");
}

// vigild sends heartbeat k at its slot, start + k·interval, moved by at most ±jitter: the
// jitter and each wakeup's latency do not accumulate, so a receiver's arrival offsets
// (arrival − seq·interval) stay level instead of wandering off (which would read as a
// growing queueing delay to the adaptive detector).
TEST(Recording, HeartbeatsKeepTheirScheduleAndJitterDoesNotAccumulate) {
  Cluster c(TwoRecordingNodes());
  Trace t;
  RecordTwoNodes(c, 130, &t);
  const auto& rows = t.rows;
  ASSERT_GE(rows.size(), 130u);
  std::vector<double> offsets;
  for (const auto& r : rows) {
    offsets.push_back(r.recv_ms - static_cast<double>(r.seq - rows.front().seq) * 100.0);
  }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  const double first = median({offsets.begin(), offsets.begin() + 40});
  const double last = median({offsets.end() - 40, offsets.end()});
  // With ±10 ms of jitter per send, accumulating jitter would wander by about
  // 10 ms · sqrt(90 / 3) ≈ 55 ms between the two medians, plus every wakeup's latency.
  EXPECT_NEAR(last, first, 10.0) << "arrival offsets moved over " << rows.size() << " heartbeats";
  // And all but the outermost 5 % each side stay within the ±10 ms of jitter, plus some
  // scheduling latency (accumulated, they would spread over 50–100 ms).
  std::sort(offsets.begin(), offsets.end());
  const double p5 = offsets[offsets.size() / 20];
  const double p95 = offsets[offsets.size() - 1 - offsets.size() / 20];
  EXPECT_LT(p95 - p5, 30.0) << "arrival offsets spread over " << rows.size() << " heartbeats";
}

// heartbeat.jitter is the spread of send times around each slot: with 0.4 at 100 ms the
// arrival offsets spread over about ±40 ms, with 0 over scheduling noise only.
TEST(Recording, JitterIsTheConfiguredSpreadOfSendTimes) {
  auto spread = [](const std::string& jitter) {
    ClusterOptions o = TwoRecordingNodes();
    o.heartbeat_yaml = "  jitter: " + jitter + "\n";
    Cluster c(o);
    Trace t;
    RecordTwoNodes(c, 80, &t);
    std::vector<double> offsets;
    for (const auto& r : t.rows) {
      offsets.push_back(r.recv_ms - static_cast<double>(r.seq - t.rows.front().seq) * 100.0);
    }
    std::sort(offsets.begin(), offsets.end());
    return offsets.empty() ? 0.0
                           : offsets[offsets.size() - 1 - offsets.size() / 10] -
                                 offsets[offsets.size() / 10];
  };
  const double none = spread("0");
  const double wide = spread("0.4");
  // Uniform ±40 ms: the middle 80 % spans about 64 ms; without jitter only scheduling
  // noise is left (a few ms, more on a loaded machine).
  EXPECT_GT(wide, 40.0) << "jitter 0: " << none << " ms, jitter 0.4: " << wide << " ms";
  EXPECT_GT(wide, 1.5 * none) << "jitter 0: " << none << " ms, jitter 0.4: " << wide << " ms";
}

TEST(Recording, SuspectOutHasOneRowPerHeartbeat) {
  TempDir dir;
  TraceGeneratorOptions g;
  g.scenario = TraceScenario::kLan;
  g.length = 2min;
  const Trace t = GenerateTrace(g);
  {
    std::ofstream f(dir.File("lan.csv"));
    WriteTrace(f, t);
  }
  std::string out;
  ASSERT_EQ(RunCommand(VigilctlPath() + " replay " + dir.File("lan.csv") +
                           " --detector timeout:timeout=300ms --suspect-out " +
                           dir.File("s.csv"),
                       &out),
            0)
      << out;
  std::ifstream s(dir.File("s.csv"));
  std::string line;
  std::getline(s, line);
  EXPECT_EQ(line, "seq,suspect_at_ms");
  std::size_t rows = 0;
  while (std::getline(s, line)) {
    const auto comma = line.find(',');
    ASSERT_NE(comma, std::string::npos);
    EXPECT_EQ(std::stoull(line.substr(0, comma)), t.rows[rows].seq);
    // A 300 ms timeout: suspicion starts 300 ms after each (new) arrival.
    EXPECT_NEAR(std::stod(line.substr(comma + 1)), t.rows[rows].recv_ms + 300, 0.002);
    ++rows;
  }
  EXPECT_EQ(rows, t.rows.size());
  // Two detectors and one file is a usage error, named as such.
  EXPECT_EQ(RunCommand(VigilctlPath() + " replay " + dir.File("lan.csv") +
                           " --detector adaptive --detector phi --suspect-out x.csv",
                       &out, true),
            2);
  EXPECT_NE(out.find("--suspect-out takes exactly one --detector, found 2"), std::string::npos)
      << out;
}

}  // namespace
}  // namespace vigil
