// Replays in a cluster (docs/membership.md, "Replays"): three real members, n2 advertised at
// a tap that records what the others send it (their heartbeats and membership datagrams).
// Sent again to n2, to n3, and to n2 after it restarts, none is taken: each is refused and
// counted, and the cluster stays as it was.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/json/serialize.hpp>

#include "tests/integration/cluster.h"
#include "tests/integration/recording_tap.h"
#include "transport/keyring.h"
#include "transport/wire_format.h"

namespace vigil::testing {
namespace {

constexpr std::chrono::seconds kClusterDeadline{60};

// Adds `node.advertise` (127.0.0.1:port) to node i's config.
void Advertise(const Cluster& c, int i, int port) {
  const std::string path = c.dir().File(fmt::format("n{}.yaml", i + 1));
  std::stringstream yaml;
  yaml << std::ifstream(path).rdbuf();
  std::string text = yaml.str();
  const std::string bind = fmt::format("  bind: \"127.0.0.1:{}\"\n", c.port(i));
  const auto at = text.find(bind);
  ASSERT_NE(at, std::string::npos) << text;
  text.insert(at + bind.size(), fmt::format("  advertise: \"127.0.0.1:{}\"\n", port));
  std::ofstream(path, std::ios::trunc) << text;
}

double Sample(const Daemon& d, const std::string& sample) {
  return std::max(0.0, d.Metric(sample));
}

// What `d` refused as not fresh, of both kinds.
double Refused(const Daemon& d) {
  double sum = 0;
  for (const char* reason : {"unconfirmed", "old_sequence", "heartbeat_unconfirmed",
                             "heartbeat_old_sequence"}) {
    sum += Sample(d, fmt::format("vigil_cluster_datagrams_rejected_total{{reason=\"{}\"}}",
                                 reason));
  }
  return sum;
}

// The sender id of a heartbeat or membership datagram ("" if neither).
std::string SenderOf(const std::vector<std::uint8_t>& d) {
  if (d.size() > 32 && d[3] == 3 && d.size() >= 32u + d[5]) {
    return std::string(d.begin() + 32, d.begin() + 32 + d[5]);
  }
  Message m;
  RejectReason why{};
  return Decode(d, &m, &why) == DecodeStatus::kOk ? std::string(m.sender_id) : "";
}

// The heartbeats among `recorded` that `sender` sent.
std::vector<std::vector<std::uint8_t>> HeartbeatsOf(
    const std::vector<std::vector<std::uint8_t>>& recorded, const std::string& sender) {
  std::vector<std::vector<std::uint8_t>> found;
  for (const auto& d : recorded) {
    Message m;
    RejectReason why{};
    if (Decode(d, &m, &why) == DecodeStatus::kOk && m.sender_id == sender) found.push_back(d);
  }
  return found;
}

class MembershipReplay : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.nodes = 3;
    c = std::make_unique<Cluster>(o);
    const std::string key = GenerateKeyBase64();
    // n3 joins through n2, so that n2 has n3's own word for where it is: else n3's
    // heartbeats, which reach n2 through the tap, would place n3 at the tap
    // (docs/membership.md, "Contacts": where an observer hears a member from).
    for (int i = 0; i < 3; ++i) {
      WriteKeys(c->KeyFile(i), {key});
      c->WriteConfig(
          i, {},
          fmt::format("security:\n  keyring: {}\ncluster:\n  seeds: [\"127.0.0.1:{}\"]\n",
                      c->KeyFile(i), c->port(i == 2 ? 1 : 0)));
    }
  }
  std::int64_t Members(int i) {
    const auto doc = c->node(i).GetJson("/v1/members");
    return doc && doc->is_object() ? doc->as_object().at("members").as_int64() : -1;
  }
  bool AllHoldThree() { return Members(0) == 3 && Members(1) == 3 && Members(2) == 3; }
  double TakenOut() {
    double sum = 0;
    for (int i = 0; i < 3; ++i) sum += Sample(c->node(i), "vigil_cluster_taken_out");
    return sum;
  }

  std::unique_ptr<Cluster> c;
};

TEST_F(MembershipReplay, RecordedTrafficIsRefusedWhereverAndWheneverItIsSentAgain) {
  const int tap_port = FreeUdpPort();
  Advertise(*c, 1, tap_port);
  RecordingTap tap(tap_port, c->port(1), 200);
  ASSERT_TRUE(tap.bound());
  ASSERT_TRUE(c->node(0).Start()) << c->node(0).Log();
  ASSERT_TRUE(c->node(1).Start()) << c->node(1).Log();
  ASSERT_TRUE(WaitUntil([&] { return Members(0) == 2 && Members(1) == 2; }, kClusterDeadline))
      << c->Logs();
  ASSERT_TRUE(c->node(2).Start()) << c->node(2).Log();
  ASSERT_TRUE(WaitUntil([&] { return AllHoldThree(); }, kClusterDeadline)) << c->Logs();
  // What n1 and n3 sent n2 for a while: heartbeats (10 a second each) and gossip.
  ASSERT_TRUE(WaitUntil([&] { return tap.Recorded().size() == 200; }, kClusterDeadline));
  const auto recorded = tap.Recorded();
  for (const auto& d : recorded) ASSERT_NE(SenderOf(d), "n2");
  const auto from_n1 = HeartbeatsOf(recorded, "n1");
  ASSERT_GT(from_n1.size(), 20u);
  Daemon& n2 = c->node(1);
  Daemon& n3 = c->node(2);

  // Sent again to n2, in its run: seen before (or older than its window); the membership
  // datagrams among them by the guard alone (the observers' own check covers heartbeats).
  const auto gossip_recorded = static_cast<double>(
      std::count_if(recorded.begin(), recorded.end(), [](const auto& d) { return d[3] == 3; }));
  ASSERT_GT(gossip_recorded, 0);
  const auto gossip_refused = [&] {
    return Sample(n2, "vigil_cluster_datagrams_rejected_total{reason=\"old_sequence\"}") +
           Sample(n2, "vigil_cluster_datagrams_rejected_total{reason=\"unconfirmed\"}");
  };
  double before = Refused(n2);
  const double gossip_before = gossip_refused();
  RecordingTap::Replay(recorded, c->port(1));
  EXPECT_TRUE(WaitUntil([&] { return Refused(n2) - before >= 200; })) << n2.Log();
  EXPECT_GE(gossip_refused() - gossip_before, gossip_recorded);
  // n1's heartbeats to n2, sent to n3: they echo n2's incarnation, not n3's.
  before = Sample(n3, "vigil_cluster_datagrams_rejected_total{reason=\"heartbeat_unconfirmed\"}");
  RecordingTap::Replay(from_n1, c->port(2));
  EXPECT_TRUE(WaitUntil([&] {
    return Sample(n3, "vigil_cluster_datagrams_rejected_total{reason=\"heartbeat_unconfirmed\"}") -
               before >=
           static_cast<double>(from_n1.size());
  })) << n3.Log();

  // n2 restarts (it leaves, and joins again at a newer incarnation): what was sent to its
  // last run echoes that run.
  n2.Signal(SIGTERM);
  ASSERT_EQ(n2.WaitExit(), 0);
  ASSERT_TRUE(n2.Start()) << n2.Log();
  ASSERT_TRUE(WaitUntil([&] { return AllHoldThree(); }, kClusterDeadline)) << c->Logs();
  const double taken_out = TakenOut();
  const double unconfirmed_before =
      Sample(n2, "vigil_cluster_datagrams_rejected_total{reason=\"unconfirmed\"}") +
      Sample(n2, "vigil_cluster_datagrams_rejected_total{reason=\"heartbeat_unconfirmed\"}");
  RecordingTap::Replay(recorded, c->port(1));
  EXPECT_TRUE(WaitUntil([&] {
    return Sample(n2, "vigil_cluster_datagrams_rejected_total{reason=\"unconfirmed\"}") +
               Sample(n2,
                      "vigil_cluster_datagrams_rejected_total{reason=\"heartbeat_unconfirmed\"}") -
               unconfirmed_before >=
           200;
  })) << n2.Log();
  EXPECT_GT(Sample(n2, "vigil_cluster_unconfirmed_answered_total"), 0) << n2.Log();
  // Nothing changed: the three hold each other, nobody more was taken out.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_TRUE(AllHoldThree()) << c->Logs();
  EXPECT_EQ(TakenOut(), taken_out) << c->Logs();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(c->node(i).running()) << i;
}

}  // namespace
}  // namespace vigil::testing
