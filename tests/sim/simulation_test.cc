// Three vigil nodes in simulated time: the Node, HeartbeatComposer and send schedule vigild
// runs, over a simulated network. A crash, a partition, a reload, a restart and a clean
// stop, in well under a second of real time (the duration is printed, not asserted).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/simulated_network.h"
#include "sim/simulated_node.h"
#include "sim/simulation.h"

namespace vigil::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Address(char id) { return fmt::format("10.0.0.{}:7946", id - 'a' + 1); }

// node `self` watching every id in `peers`, heartbeats every 100 ms, default detector.
std::string Yaml(char self, const std::string& peers, const std::string& interval = "100ms") {
  std::string yaml = fmt::format("node:\n  id: {}\nheartbeat:\n  interval: {}\npeers:\n", self,
                                 interval);
  for (char p : peers) yaml += fmt::format("  - id: {}\n    address: {}\n", p, Address(p));
  return yaml;
}

Config Parse(const std::string& yaml) {
  ConfigResult r = LoadConfigString(yaml, "sim.yaml");
  EXPECT_TRUE(r.ok()) << r.errors.front().ToString();
  return *r.config;
}

struct Cluster {
  explicit Cluster(std::uint64_t seed) : sim(seed), net(sim) {
    net.set_latency(milliseconds(1), milliseconds(2));
    for (char id : std::string("abc")) {
      std::string others;
      for (char p : std::string("abc")) if (p != id) others += p;
      nodes.push_back(std::make_unique<SimulatedNode>(sim, net, Parse(Yaml(id, others)),
                                                      Address(id)));
    }
  }
  SimulatedNode& operator[](char id) { return *nodes[id - 'a']; }

  // Runs until `done` holds (checked every 10 ms of simulated time), at most `limit`.
  // Returns how long it took, or nullopt if it never held.
  std::optional<Duration> RunUntil(const std::function<bool()>& done, Duration limit) {
    const MonoTime start = sim.now();
    while (sim.now() - start <= limit) {
      if (done()) return sim.now() - start;
      sim.RunFor(milliseconds(10));
    }
    return std::nullopt;
  }
  // Runs for `d`, asserting `invariant` after every 10 ms step.
  void Hold(Duration d, const std::function<bool()>& invariant, const char* what) {
    const MonoTime end = sim.now() + d;
    while (sim.now() < end) {
      sim.RunFor(milliseconds(10));
      ASSERT_TRUE(invariant()) << what << " broke at +" << ToMillis(d - (end - sim.now()))
                               << " ms";
    }
  }

  Simulation sim;
  SimulatedNetwork net;
  std::vector<std::unique_ptr<SimulatedNode>> nodes;
};

bool Is(SimulatedNode& n, char peer, PeerState s) { return n.StateOf(std::string(1, peer)) == s; }

// The whole scenario; returns every node's events, for the determinism check.
std::vector<std::vector<EventRecord>> RunScenario(std::uint64_t seed) {
  Cluster c(seed);
  const MonoTime start = c.sim.now();
  for (char id : std::string("abc")) c[id].Start();
  auto all_up = [&] {
    return Is(c['a'], 'b', PeerState::kUp) && Is(c['a'], 'c', PeerState::kUp) &&
           Is(c['b'], 'a', PeerState::kUp) && Is(c['b'], 'c', PeerState::kUp) &&
           Is(c['c'], 'a', PeerState::kUp) && Is(c['c'], 'b', PeerState::kUp);
  };
  EXPECT_TRUE(c.RunUntil(all_up, seconds(1))) << "the cluster did not come up";
  // A minute of calm: detectors learn, and nobody is suspected.
  c.Hold(seconds(60), all_up, "calm");

  // c crashes: a and b both take it down, and never doubt each other meanwhile.
  c['c'].Crash();
  const auto detected = c.RunUntil(
      [&] { return Is(c['a'], 'c', PeerState::kDown) && Is(c['b'], 'c', PeerState::kDown); },
      seconds(5));
  EXPECT_TRUE(detected) << "the crash was not detected within 5 s";
  std::cout << "crash detected by both in " << (detected ? ToMillis(*detected) : -1)
            << " ms (simulated)\n";
  c.Hold(seconds(10),
         [&] { return Is(c['a'], 'b', PeerState::kUp) && Is(c['b'], 'a', PeerState::kUp); },
         "a and b see each other up while c is down");

  // A partition between a and b: each takes the other down; healed, both come back up.
  c.net.Partition({Address('a')}, {Address('b')});
  EXPECT_TRUE(c.RunUntil([&] { return !Is(c['a'], 'b', PeerState::kUp) &&
                                      !Is(c['b'], 'a', PeerState::kUp); },
                         seconds(5)))
      << "the partition went unnoticed";
  EXPECT_TRUE(c.RunUntil([&] { return Is(c['a'], 'b', PeerState::kDown); }, seconds(10)));
  c.net.Heal();
  EXPECT_TRUE(c.RunUntil([&] { return Is(c['a'], 'b', PeerState::kUp) &&
                                      Is(c['b'], 'a', PeerState::kUp); },
                         seconds(2)))
      << "not up again after the partition healed";

  // a reloads without c and with a longer interval: c is gone from a's table, b keeps its
  // state and history (no event), and b still hears a (at the new interval).
  const std::size_t a_events = c['a'].events().size();
  EXPECT_TRUE(c['a'].Reload(Yaml('a', "b", "200ms")).empty());
  EXPECT_FALSE(c['a'].node().Find("c"));
  EXPECT_EQ(c['a'].events().size(), a_events);
  c.Hold(seconds(20),
         [&] { return Is(c['a'], 'b', PeerState::kUp) && Is(c['b'], 'a', PeerState::kUp); },
         "a and b up across a's reload");
  EXPECT_FALSE(c['a'].Reload("node:\n  id: renamed\n").empty()) << "node.id changed on reload";

  // c comes back: b takes it up again; a, which no longer watches c, rejects its datagrams.
  c['c'].Start();
  EXPECT_TRUE(c.RunUntil([&] { return Is(c['b'], 'c', PeerState::kUp); }, seconds(2)));
  c.sim.RunFor(seconds(1));
  EXPECT_GT(c['a'].node().counters().rejected[static_cast<int>(RejectReason::kUnknownSender)],
            0u);

  // b stops cleanly: its leave takes it to "left" at a and c at once, not "down".
  c['b'].Stop();
  EXPECT_TRUE(c.RunUntil([&] { return Is(c['a'], 'b', PeerState::kLeft) &&
                                      Is(c['c'], 'b', PeerState::kLeft); },
                         milliseconds(100)));
  std::vector<std::vector<EventRecord>> events;
  for (char id : std::string("abc")) events.push_back(c[id].events());
  std::cout << "simulated " << ToMillis(c.sim.now() - start) / 1000 << " s\n";
  return events;
}

std::string Describe(const std::vector<std::vector<EventRecord>>& nodes) {
  std::string out;
  for (const auto& events : nodes) {
    for (const auto& e : events) {
      out += fmt::format("{} {} {}->{} @{}\n", e.id, e.peer, PeerStateName(e.from),
                         PeerStateName(e.to), e.wall_ms);
    }
    out += "--\n";
  }
  return out;
}

TEST(Simulation, ThreeNodesCrashPartitionReloadRestartStop) {
  const auto started = std::chrono::steady_clock::now();
  const auto events = RunScenario(1);
  const auto real = std::chrono::steady_clock::now() - started;
  std::cout << "3 nodes in "
            << std::chrono::duration_cast<milliseconds>(real).count() << " ms of real time\n";
  RecordProperty("real_ms",
                 static_cast<int>(std::chrono::duration_cast<milliseconds>(real).count()));
  EXPECT_FALSE(events[0].empty());
}

TEST(Simulation, SameSeedSameRunOtherSeedsStillHold) {
  const std::string first = Describe(RunScenario(7));
  EXPECT_EQ(first, Describe(RunScenario(7)));
  EXPECT_NE(first, Describe(RunScenario(8)));  // the seed really moves jitter and latency
}

}  // namespace
}  // namespace vigil::sim
