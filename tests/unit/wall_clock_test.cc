// Wall-clock independence: the same heartbeats at the same monotonic times give the same
// verdicts, events and ages whatever the wall clock does. The wall clock is injected (the
// Timestamp the daemon hands the core), so the test steps it back and forward at will
// without touching the host's clock.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "daemon/api_json.h"
#include "daemon/node.h"
#include "tests/unit/test_messages.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

using testing::AtMs;

Config PhiConfig() {
  auto r = LoadConfigString(R"(node:
  id: me
heartbeat:
  interval: 100ms
peers:
  - id: a
    address: 10.0.0.1
  - id: b
    address: 10.0.0.2
    detector:
      kind: timeout
      timeout: 400ms
)",
                            "test.yaml");
  EXPECT_TRUE(r.ok()) << r.errors.front().ToString();
  return *r.config;
}

std::vector<std::uint8_t> Heartbeat(std::string_view from, std::uint64_t seq) {
  return testing::EncodedMessage(from, 7, seq);
}

// What a client can observe, minus the wall-clock display fields.
struct Observation {
  std::vector<std::string> events;  // "id peer from->to reason"
  std::vector<std::string> states;  // per step: "a=up b=down"
  std::vector<std::int64_t> ages;   // last_heartbeat_age_ms of each peer at each step
};

using WallOf = std::function<WallTime(double mono_ms)>;

// Drives a Node through 8 s: both peers beat every 100 ms, `a` goes silent from 3 s to 4.5 s,
// `b` from 5 s on; the wall clock is whatever `wall` says for each monotonic instant.
Observation Drive(const WallOf& wall) {
  auto at = [&](double ms) { return Timestamp{AtMs(ms), wall(ms)}; };
  Node node(PhiConfig(), at(0));
  Observation obs;
  node.set_event_listener([&](const EventRecord& e) {
    obs.events.push_back(std::to_string(e.id) + " " + e.peer + " " +
                         std::string(PeerStateName(e.from)) + "->" +
                         std::string(PeerStateName(e.to)) + " " +
                         std::string(TransitionReasonName(e.reason)));
  });
  std::uint64_t seq = 0;
  for (double ms = 0; ms <= 8000; ms += 10) {
    const int tick = static_cast<int>(ms);
    if (tick % 100 == 0) {
      ++seq;
      if (ms < 3000 || ms >= 4500) node.OnDatagram(Heartbeat("a", seq), false, at(ms));
      if (ms < 5000) node.OnDatagram(Heartbeat("b", seq), false, at(ms));
    }
    node.RunDue(at(ms));
    std::string line;
    for (const auto& p : node.peers()) {
      line += p.id + "=" + std::string(PeerStateName(p.monitor.state())) + " ";
      const auto json = PeerJson(p, at(ms));
      const auto& age = json.at("last_heartbeat_age_ms");
      if (!age.is_null()) obs.ages.push_back(age.as_int64());
      const auto& bound = json.at("down_after_silence_ms");
      if (!bound.is_null()) {
        EXPECT_GE(bound.as_double(), 0.0) << p.id << " at " << ms;
      }
    }
    obs.states.push_back(line);
  }
  return obs;
}

WallTime Epoch(double ms) {
  return WallTime(std::chrono::milliseconds(1'800'000'000'000LL + static_cast<long long>(ms)));
}

TEST(WallClockTest, StepsBackAndForwardChangeNoVerdictAndNoAge) {
  const Observation steady = Drive([](double ms) { return Epoch(ms); });
  // NTP steps the clock back an hour at 2.5 s (while `a` is up), forward two days at 4 s
  // (while `a` is down) and back a minute at 6 s (while `b` is down).
  const Observation stepped = Drive([](double ms) {
    double offset = 0;
    if (ms >= 2500) offset -= 3'600'000;
    if (ms >= 4000) offset += 2 * 86'400'000;
    if (ms >= 6000) offset -= 60'000;
    return Epoch(ms + offset);
  });
  // The scenario really produces transitions (otherwise the comparison proves nothing).
  ASSERT_GE(steady.events.size(), 5u);
  EXPECT_EQ(stepped.events, steady.events);
  EXPECT_EQ(stepped.states, steady.states);
  EXPECT_EQ(stepped.ages, steady.ages);
  for (const auto age : stepped.ages) EXPECT_GE(age, 0);
}

TEST(WallClockTest, AClockRunningBackwardsTheWholeTimeChangesNothing) {
  const Observation steady = Drive([](double ms) { return Epoch(ms); });
  const Observation backwards = Drive([](double ms) { return Epoch(-ms); });
  EXPECT_EQ(backwards.events, steady.events);
  EXPECT_EQ(backwards.states, steady.states);
  EXPECT_EQ(backwards.ages, steady.ages);
}

}  // namespace
}  // namespace vigil
