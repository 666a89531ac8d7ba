// The daemon's life as a service: reload (SIGHUP) with good and bad configs, and "last seen"
// surviving a restart through the state file, including a corrupt state file.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/integration/cluster.h"

namespace vigil::testing {
namespace {

namespace json = boost::json;

std::int64_t Field(const Daemon& d, const std::string& peer, const char* key) {
  const auto v = d.GetJson("/v1/peers/" + peer);
  if (!v) return -1;
  const auto* f = v->as_object().if_contains(key);
  if (!f || f->is_null()) return -1;
  return json::value_to<std::int64_t>(*f);
}

std::vector<std::string> PeerIds(const Daemon& d) {
  std::vector<std::string> ids;
  const auto v = d.GetJson("/v1/peers");
  if (!v) return ids;
  for (const auto& p : v->as_object().at("peers").as_array()) {
    ids.emplace_back(p.as_object().at("id").as_string());
  }
  return ids;
}

TEST(Reload, AddsAndRemovesPeersAndKeepsTheHistoryOfTheOthers) {
  ClusterOptions o;
  o.nodes = 4;
  Cluster c(o);
  // n1 starts watching n2 and n3 only; n4 runs but n1 does not know it yet.
  c.WriteConfig(0, {1, 2}, "detector:\n  kind: phi\n");
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] {
    return c.node(0).PeerState("n2") == "up" && c.node(0).PeerState("n3") == "up";
  })) << c.Logs();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::int64_t samples_before = Field(c.node(0), "n2", "interval_samples");
  const std::int64_t received_before = Field(c.node(0), "n2", "heartbeats_received");
  ASSERT_GT(samples_before, 2);

  // New config: drop n3, add n4, change n2's threshold (same kind: history kept).
  c.WriteConfig(0, {1, 3}, "");
  {
    std::ofstream add(c.node(0).config_path(), std::ios::app);
    add << "detector:\n  kind: phi\n  threshold: 12\n";
  }
  c.node(0).Signal(SIGHUP);
  EXPECT_TRUE(WaitUntil([&] { return PeerIds(c.node(0)) == std::vector<std::string>{"n2", "n4"}; }))
      << c.node(0).Log();
  EXPECT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n4") == "up"; })) << c.node(0).Log();
  EXPECT_EQ(c.node(0).PeerState("n2"), "up");
  // n2 kept its counters and its learned intervals; its threshold is the new one.
  EXPECT_GE(Field(c.node(0), "n2", "heartbeats_received"), received_before);
  EXPECT_GE(Field(c.node(0), "n2", "interval_samples"), samples_before);
  EXPECT_EQ(Field(c.node(0), "n2", "threshold"), 12);
  EXPECT_EQ(c.node(0).Metric("vigil_config_reloads_total{result=\"ok\"}"), 1);
  EXPECT_NE(c.node(0).Log().find("added [n4], removed [n3], retuned [n2]"), std::string::npos)
      << c.node(0).Log();
}

TEST(Reload, ABrokenConfigKeepsTheOldOneRunning) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  {
    std::ofstream bad(c.node(0).config_path(), std::ios::app);
    bad << "detector:\n  threshold: banana\n";
  }
  c.node(0).Signal(SIGHUP);
  EXPECT_TRUE(WaitUntil([&] {
    return c.node(0).Metric("vigil_config_reloads_total{result=\"failed\"}") == 1;
  })) << c.node(0).Log();
  EXPECT_EQ(c.node(0).Metric("vigil_config_last_reload_successful"), 0);
  EXPECT_NE(c.node(0).Log().find("detector.threshold: expected a number, found 'banana'"),
            std::string::npos)
      << c.node(0).Log();
  // Still serving, still watching n2 with the old settings (the default detector, whose
  // threshold is 1).
  EXPECT_EQ(c.node(0).PeerState("n2"), "up");
  EXPECT_EQ(Field(c.node(0), "n2", "threshold"), 1);
  EXPECT_EQ(c.node(0).PeerField("n2", "detector"), "adaptive");
}

class StateFile : public ::testing::TestWithParam<int> {};

// The observer stops cleanly (SIGTERM) or is killed (SIGKILL) a second after the
// conviction: the transition is in the state file either way (written within 250 ms).
TEST_P(StateFile, LastSeenSurvivesARestart) {
  ClusterOptions o;
  o.nodes = 3;
  Cluster c(o);
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  // n3 goes away for good; n1 notices, then n1 itself restarts.
  c.node(2).Signal(SIGKILL);
  c.node(2).WaitExit();
  ASSERT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n3") == "down"; }));
  const std::int64_t last_seen = Field(c.node(0), "n3", "last_heartbeat");
  const std::int64_t incarnation = Field(c.node(0), "n3", "incarnation");
  const std::int64_t down_since = Field(c.node(0), "n3", "since");
  ASSERT_GT(last_seen, 0);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  c.node(0).Signal(GetParam());
  ASSERT_EQ(c.node(0).WaitExit(), GetParam() == SIGTERM ? 0 : 128 + SIGKILL) << c.node(0).Log();
  EXPECT_TRUE(std::filesystem::exists(c.StateDir(0) + "/state.bin"));
  ASSERT_TRUE(c.node(0).Start()) << c.node(0).Log();
  // Not heard since the restart: it stays down (a down alert must not clear by itself), and
  // its last heartbeat, state and since are remembered.
  EXPECT_EQ(c.node(0).PeerState("n3"), "down");
  EXPECT_EQ(Field(c.node(0), "n3", "since"), down_since);
  EXPECT_EQ(Field(c.node(0), "n3", "last_heartbeat"), last_seen);
  EXPECT_GE(Field(c.node(0), "n3", "last_heartbeat_age_ms"), 0);
  const auto peer = c.node(0).GetJson("/v1/peers/n3");
  ASSERT_TRUE(peer);
  EXPECT_EQ(peer->as_object().at("previous_state").as_string(), "down");
  std::string out;
  RunCommand(VigilctlPath() + " --socket " + c.node(0).socket() + " status", &out, true);
  const auto row = out.substr(out.find("\nn3 "), out.find('\n', out.find("\nn3 ") + 1) - out.find("\nn3 "));
  EXPECT_EQ(row.find("never"), std::string::npos) << out;  // it has a last-seen time
  // A replay of the old incarnation is still stale after the restart.
  EXPECT_EQ(Field(c.node(0), "n3", "incarnation"), incarnation);
  // n2 is heard again and is up.
  EXPECT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n2") == "up"; }));
}

INSTANTIATE_TEST_SUITE_P(Observer, StateFile, ::testing::Values(SIGTERM, SIGKILL),
                         [](const auto& param_info) {
                           return param_info.param == SIGTERM ? "Stopped" : "Killed";
                         });

TEST(StateFileCorrupt, IsMovedAsideAndTheDaemonStarts) {
  // The binary file, and the JSON file of vigil 0.2 (read when there is no binary one).
  const std::vector<std::pair<std::string, std::string>> files = {
      {"state.bin", std::string("VGSTATE\0\0\0\0\3garbage", 20)},
      {"state.bin", std::string("\x00\x01garbage", 9)},
      {"state.json", "{\"format\":\"vigil-state\",\"vers"},
      {"state.json", "{\"format\":\"other\",\"version\":1}"},
      {"state.json", "{\"format\":\"vigil-state\",\"version\":1,\"node\":\"someone-else\","
                     "\"incarnation\":1,\"written\":1,\"peers\":[]}"}};
  for (const auto& [file, content] : files) {
    ClusterOptions o;
    o.nodes = 2;
    Cluster c(o);
    std::filesystem::create_directories(c.StateDir(0));
    std::ofstream(c.StateDir(0) + "/" + file, std::ios::binary) << content;
    ASSERT_TRUE(c.node(0).Start()) << c.node(0).Log();
    EXPECT_NE(c.node(0).Log().find("ignoring the state file"), std::string::npos)
        << c.node(0).Log();
    bool moved = false;
    for (const auto& e : std::filesystem::directory_iterator(c.StateDir(0))) {
      if (e.path().filename().string().rfind(file + ".bad-", 0) == 0) moved = true;
    }
    EXPECT_TRUE(moved);
    EXPECT_EQ(c.node(0).PeerState("n2"), "unknown");  // serving normally
  }
}

// Event ids across restarts (issue 12, item 7): an EventSource client resends the last id it
// saw on every reconnect. After vigild restarts, an id of the earlier run, however small,
// gets a `gap` and the state of every peer, never silence; new ids are above every old one.
TEST(EventIds, AnIdFromBeforeARestartGetsAGapAndTheCurrentStates) {
  for (const int signo : {SIGTERM, SIGKILL}) {
    SCOPED_TRACE(signo == SIGTERM ? "SIGTERM" : "SIGKILL");
    ClusterOptions o;
    o.nodes = 2;
    Cluster c(o);
    ASSERT_TRUE(c.StartAll()) << c.Logs();
    unsigned long long old_last = 0;
    {
      EventCollector before(c.node(0).socket(), "0");
      ASSERT_TRUE(WaitUntil([&] { return before.Saw("n2", "up"); })) << c.Logs();
      for (const auto& e : before.Events()) old_last = std::max(old_last, std::stoull(e.id));
    }
    c.node(0).Signal(signo);
    c.node(0).WaitExit();
    ASSERT_TRUE(c.node(0).Start()) << c.node(0).Log();
    for (const std::string& last : {std::string("5"), std::to_string(old_last)}) {
      SCOPED_TRACE("Last-Event-ID: " + last);
      EventCollector after(c.node(0).socket(), last);
      if (signo == SIGTERM && last == std::to_string(old_last)) {
        // The last id of a run that stopped cleanly: nothing was missed, so no gap.
        ASSERT_TRUE(after.WaitOpen());
        std::this_thread::sleep_for(std::chrono::seconds(1));
        for (const auto& e : after.Events()) EXPECT_NE(e.event, "gap") << e.data;
        continue;
      }
      ASSERT_TRUE(WaitUntil([&] {
        const auto events = after.Events();
        return events.size() >= 2 && events[1].event == "state";
      })) << c.node(0).Log();
      const auto events = after.Events();
      EXPECT_EQ(events[0].event, "gap");
      EXPECT_NE(events[0].data.find("\"reason\":\"restart\""), std::string::npos)
          << events[0].data;
      EXPECT_NE(events[1].data.find("\"peer\":\"n2\""), std::string::npos) << events[1].data;
    }
    // The next transition (n2 killed) has an id above every id of the earlier run.
    EventCollector live(c.node(0).socket());
    ASSERT_TRUE(live.WaitOpen());
    c.node(1).Signal(SIGKILL);
    ASSERT_TRUE(WaitUntil([&] { return live.Saw("n2", "down"); })) << c.node(0).Log();
    for (const auto& e : live.Events()) {
      if (!e.id.empty()) {
        EXPECT_GT(std::stoull(e.id), old_last);
      }
    }
  }
}

}  // namespace
}  // namespace vigil::testing
