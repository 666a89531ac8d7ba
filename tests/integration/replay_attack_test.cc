// Replays across restarts (issue 12, item 1): n2 sends signed heartbeats to n1 through a
// tap that records them; n2 dies, n1 reports it down, n1 restarts (cleanly or killed), and
// the recorded datagrams are sent again from n2's address. None may make n2 up: with
// security.require_echo they no longer echo n1's incarnation ("unconfirmed"); without it
// they are at or below the persisted high-water mark ("old_sequence").
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/integration/cluster.h"
#include "tests/integration/recording_tap.h"

namespace vigil::testing {
namespace {

double Rejected(const Daemon& d, const std::string& reason) {
  return std::max(0.0, d.Metric("vigil_datagrams_rejected_total{reason=\"" + reason + "\"}"));
}

// Points node i's peer entry for node j at `port` instead (the tap).
void Redirect(const Cluster& c, int i, int j, int port) {
  const std::string path = c.dir().File(fmt::format("n{}.yaml", i + 1));
  std::stringstream yaml;
  yaml << std::ifstream(path).rdbuf();
  std::string text = yaml.str();
  const std::string from = fmt::format("address: \"127.0.0.1:{}\"", c.port(j));
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, from.size(), fmt::format("address: \"127.0.0.1:{}\"", port));
  std::ofstream(path, std::ios::trunc) << text;
}

struct ReplayCase {
  int restart_signal;  // how the receiver stops: SIGTERM (clean) or SIGKILL
  bool require_echo;
};

class ReplayAfterRestart : public ::testing::TestWithParam<ReplayCase> {};

TEST_P(ReplayAfterRestart, RecordedHeartbeatsNeverReviveADeadPeer) {
  const auto [restart_signal, require_echo] = GetParam();
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  c.UseKeys(2, require_echo ? "" : "  require_echo: false\n");
  const int tap_port = FreeUdpPort();
  Redirect(c, 1, 0, tap_port);  // n2 -> tap -> n1; n1 -> n2 directly
  RecordingTap tap(tap_port, c.port(0), 15);
  ASSERT_TRUE(tap.bound());
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  // Record n2's last 15 heartbeats, then n2 dies and n1 convicts it.
  ASSERT_TRUE(WaitUntil([&] { return tap.Recorded().size() == 15; }));
  c.node(1).Signal(SIGKILL);
  c.node(1).WaitExit();
  const auto recorded = tap.Recorded();
  ASSERT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n2") == "down"; })) << c.Logs();
  // Replayed now, within n1's run, they are old.
  RecordingTap::Replay(recorded, c.port(0));

  c.node(0).Signal(restart_signal);
  c.node(0).WaitExit();
  ASSERT_TRUE(c.node(0).Start()) << c.node(0).Log();
  Daemon& n1 = c.node(0);
  // Restored, not forgotten. After a kill the file may predate the conviction (it is
  // written within 250 ms of a transition and every 5 s): then n2 is restored up and must
  // be convicted again on silence, since nothing replayed counts.
  const std::string restored = n1.PeerState("n2");
  if (restart_signal == SIGTERM) {
    EXPECT_EQ(restored, "down");
  } else {
    EXPECT_TRUE(restored == "down" || restored == "up") << restored;
  }
  EventCollector events(n1.socket());
  ASSERT_TRUE(events.WaitOpen());
  const double before = Rejected(n1, "unconfirmed") + Rejected(n1, "old_sequence");
  for (int round = 0; round < 5; ++round) {
    RecordingTap::Replay(recorded, c.port(0));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // Every replayed datagram is rejected and counted...
  EXPECT_TRUE(WaitUntil([&] {
    return Rejected(n1, "unconfirmed") + Rejected(n1, "old_sequence") - before >= 5 * 15;
  })) << n1.Log();
  EXPECT_GT(Rejected(n1, require_echo ? "unconfirmed" : "old_sequence"), 0) << n1.Log();
  // ...and n2 is down and never goes up.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_TRUE(WaitUntil([&] { return n1.PeerState("n2") == "down"; })) << n1.Log();
  EXPECT_FALSE(events.Saw("n2", "up")) << n1.Log();
  if (restored == "down") {
    EXPECT_FALSE(events.Saw("n2", "suspect")) << n1.Log();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Receiver, ReplayAfterRestart,
    ::testing::Values(ReplayCase{SIGTERM, true}, ReplayCase{SIGKILL, true},
                      ReplayCase{SIGTERM, false}, ReplayCase{SIGKILL, false}),
    [](const auto& param_info) {
      return std::string(param_info.param.restart_signal == SIGTERM ? "Stopped" : "Killed") +
             (param_info.param.require_echo ? "WithEcho" : "WithoutEcho");
    });

}  // namespace
}  // namespace vigil::testing
