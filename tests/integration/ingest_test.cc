// Many enrolled senders at an even pace, from vigil-loadgen, into a real vigild (issue 14,
// item 3): receive coalescing cuts the wake-ups and raises no false alarm.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <thread>

#include "tests/integration/cluster.h"
#include "transport/keyring.h"

namespace vigil::testing {
namespace {

// 300 senders at 3,000 heartbeats a second: each every 100 ms, the receiver's interval.
constexpr int kSenders = 300;
constexpr int kRate = 3000;

class Ingest : public ::testing::Test {
 protected:
  void Start(const std::string& coalesce) {
    ClusterOptions o;
    o.nodes = 1;
    o.node_yaml = "  receive_coalesce: " + coalesce + "\n";
    cluster = std::make_unique<Cluster>(o);
    WriteKeys(cluster->KeyFile(0), {GenerateKeyBase64()});
    cluster->WriteConfig(
        0, {},
        fmt::format("security: {{keyring: {}}}\nenrollment: {{enabled: true}}\n",
                    cluster->KeyFile(0)));
    ASSERT_TRUE(n1().Start()) << n1().Log();
  }
  // Sends `seconds` of the paced feed; returns vigil-loadgen's JSON line.
  boost::json::object Feed(double seconds, int first_sequence) {
    std::string out;
    const int rc = RunCommand(
        fmt::format("{} --to 127.0.0.1:{} --senders {} --rate {} --seconds {} --interval 100ms "
                    "--keyring {} --incarnation 7 --first-sequence {}",
                    VIGIL_LOADGEN_PATH, cluster->port(0), kSenders, kRate, seconds,
                    cluster->KeyFile(0), first_sequence),
        &out);
    EXPECT_EQ(rc, 0) << out;
    return rc == 0 ? boost::json::parse(out).as_object() : boost::json::object{};
  }
  Daemon& n1() { return cluster->node(0); }

  std::unique_ptr<Cluster> cluster;
};

TEST_F(Ingest, CoalescingCutsWakeUpsAndRaisesNoFalseAlarm) {
  Start("2ms");
  // One feed of 20 s; its first round enrolls every sender, and the checks are made while
  // it still runs (an ended feed would make every peer go down, rightly).
  std::atomic<bool> feeding{true};
  boost::json::object sent;
  std::thread feed([&] {
    sent = Feed(20, 1);
    feeding = false;
  });
  const bool enrolled =
      WaitUntil([&] { return n1().Metric("vigil_peers{state=\"up\"}") == kSenders; });
  const double received0 = n1().Metric("vigil_datagrams_received_total");
  const double wakeups0 = n1().Metric("vigil_receive_wakeups_total");
  std::this_thread::sleep_for(std::chrono::seconds(4));
  const double received = n1().Metric("vigil_datagrams_received_total") - received0;
  const double wakeups = n1().Metric("vigil_receive_wakeups_total") - wakeups0;
  const double downs = n1().Metric("vigil_transitions_total{to=\"down\"}");
  const double suspects = n1().Metric("vigil_transitions_total{to=\"suspect\"}");
  const double up = n1().Metric("vigil_peers{state=\"up\"}");
  const bool still_feeding = feeding;
  feed.join();
  ASSERT_TRUE(sent.contains("sent")) << "vigil-loadgen failed";
  ASSERT_TRUE(enrolled) << n1().Log();
  ASSERT_TRUE(still_feeding) << "the checks came after the feed ended: too slow to tell";
  ASSERT_GT(received, 1000);
  // At 3,000 a second, datagrams are 333 µs apart: a 2 ms window gathers about six per
  // wake-up; without coalescing a receiver that keeps up wakes for nearly every one (with
  // `receive_coalesce: 0s` this test saw 11,660 wake-ups for 12,000 datagrams).
  EXPECT_LT(wakeups, received / 2) << wakeups << " wake-ups for " << received << " datagrams";
  EXPECT_EQ(up, kSenders);
  EXPECT_EQ(downs, 0) << n1().Log();
  EXPECT_EQ(suspects, 0) << n1().Log();
}

TEST_F(Ingest, SendersThatStopAreDetectedWhileTheOthersStayUp) {
  Start("2ms");
  // Every 10th sender stops after 2 s; the others go on for 20 s, and the checks are made
  // while they still send.
  std::atomic<bool> feeding{true};
  std::string out;
  int rc = -1;
  std::thread feed([&] {
    rc = RunCommand(
        fmt::format("{} --to 127.0.0.1:{} --senders {} --rate {} --seconds 20 --interval 100ms "
                    "--keyring {} --incarnation 7 --silence-every 10 "
                    "--silence-at 2",
                    VIGIL_LOADGEN_PATH, cluster->port(0), kSenders, kRate, cluster->KeyFile(0)),
        &out);
    feeding = false;
  });
  const bool detected = WaitUntil([&] {
    return n1().Metric("vigil_peers{state=\"down\"}") == kSenders / 10;
  }, std::chrono::seconds(17));
  const double downs = n1().Metric("vigil_transitions_total{to=\"down\"}");
  const double up = n1().Metric("vigil_peers{state=\"up\"}");
  int status = 0;
  const auto silenced = n1().GetJson("/v1/peers/user-010", &status);
  const bool still_feeding = feeding;
  feed.join();
  ASSERT_EQ(rc, 0) << out;
  ASSERT_TRUE(detected) << n1().Log();
  ASSERT_TRUE(still_feeding) << "the checks came after the feed ended: too slow to tell";
  ASSERT_EQ(status, 200);
  EXPECT_EQ(silenced->as_object().at("state").as_string(), "down");
  // The senders still sending were never taken for dead.
  EXPECT_EQ(downs, kSenders / 10) << n1().Log();
  EXPECT_EQ(up, kSenders - kSenders / 10);
}

}  // namespace
}  // namespace vigil::testing
