// Real vigild processes on loopback: discovery, crash (SIGKILL), clean stop (SIGTERM),
// restart, and the SSE event stream including resumption with Last-Event-ID.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/json/parse.hpp>

#include <filesystem>
#include <set>
#include <thread>

#include "tests/integration/cluster.h"

namespace vigil::testing {
namespace {

namespace json = boost::json;

std::uint64_t LastEventId(const Daemon& d) {
  const auto v = d.GetJson("/v1/self");
  return v ? json::value_to<std::uint64_t>(v->as_object().at("last_event_id")) : 0;
}

void ExpectCrashDetected(Cluster& c) {
  EventCollector events1(c.node(0).socket());
  EventCollector events2(c.node(1).socket());
  ASSERT_TRUE(events1.WaitOpen());
  ASSERT_TRUE(events2.WaitOpen());
  c.node(2).Signal(SIGKILL);
  c.node(2).WaitExit();
  EXPECT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n3") == "down"; })) << c.Logs();
  EXPECT_TRUE(WaitUntil([&] { return c.node(1).PeerState("n3") == "down"; })) << c.Logs();
  EXPECT_TRUE(WaitUntil([&] { return events1.Saw("n3", "down"); }));
  EXPECT_TRUE(WaitUntil([&] { return events2.Saw("n3", "down"); }));
  // The survivors still see each other.
  EXPECT_EQ(c.node(0).PeerState("n2"), "up");
  EXPECT_EQ(c.node(1).PeerState("n1"), "up");
}

TEST(Cluster, ThreeNodesSeeEachOtherUpWithinTwoSeconds) {
  Cluster c;
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  // The bound: all up within 2 s of the daemons being ready.
  EXPECT_TRUE(WaitUntil([&] { return c.AllSee("up"); }, std::chrono::seconds(2))) << c.Logs();
}

TEST(Cluster, SigkilledNodeIsReportedDownWithAnEvent) {
  Cluster c;
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  ExpectCrashDetected(c);
}

TEST(Cluster, SigtermedNodeIsReportedLeftNotDown) {
  Cluster c;
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  EventCollector events(c.node(0).socket());
  ASSERT_TRUE(events.WaitOpen());
  c.node(2).Signal(SIGTERM);
  EXPECT_EQ(c.node(2).WaitExit(), 0) << c.node(2).Log();
  EXPECT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n3") == "left"; })) << c.Logs();
  EXPECT_TRUE(WaitUntil([&] { return c.node(1).PeerState("n3") == "left"; })) << c.Logs();
  EXPECT_TRUE(WaitUntil([&] { return events.Saw("n3", "left"); }));
  // It stays left: silence after a goodbye is not a failure.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(c.node(0).PeerState("n3"), "left");
  EXPECT_FALSE(events.Saw("n3", "down"));
  // The socket file is removed on a clean exit.
  EXPECT_FALSE(std::filesystem::exists(c.node(2).socket()));
}

TEST(Cluster, RestartedNodeIsUpAgainWithANewIncarnation) {
  Cluster c;
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  const std::uint64_t before = c.node(0).PeerIncarnation("n3");
  ASSERT_GT(before, 0u);
  c.node(2).Signal(SIGKILL);
  c.node(2).WaitExit();
  ASSERT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n3") == "down"; })) << c.Logs();
  // A SIGKILLed daemon leaves its socket file behind; the new one must replace it.
  ASSERT_TRUE(c.node(2).Start()) << c.node(2).Log();
  EXPECT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n3") == "up"; })) << c.Logs();
  EXPECT_TRUE(WaitUntil([&] { return c.node(1).PeerState("n3") == "up"; })) << c.Logs();
  EXPECT_GT(c.node(0).PeerIncarnation("n3"), before);
  const auto peer = c.node(0).GetJson("/v1/peers/n3");
  ASSERT_TRUE(peer);
  EXPECT_GE(json::value_to<std::int64_t>(peer->as_object().at("flaps")), 1);
}

TEST(Cluster, ReconnectingWithLastEventIdReceivesExactlyTheMissedEvents) {
  Cluster c;
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  Daemon& observer = c.node(0);
  std::string seen_up_to;
  {
    EventCollector first(observer.socket(), "0");  // replay everything so far
    ASSERT_TRUE(WaitUntil([&] { return first.Events().size() >= 2; }));
    first.Stop();
    seen_up_to = first.Events().back().id;
  }
  // While disconnected: a crash and a restart produce events.
  c.node(2).Signal(SIGKILL);
  c.node(2).WaitExit();
  ASSERT_TRUE(WaitUntil([&] { return observer.PeerState("n3") == "down"; })) << c.Logs();
  ASSERT_TRUE(c.node(2).Start());
  ASSERT_TRUE(WaitUntil([&] { return observer.PeerState("n3") == "up"; })) << c.Logs();
  const std::uint64_t last = LastEventId(observer);
  const std::uint64_t from = std::stoull(seen_up_to);
  ASSERT_GT(last, from);

  EventCollector resumed(observer.socket(), seen_up_to);
  ASSERT_TRUE(WaitUntil([&] { return resumed.Events().size() >= last - from; }));
  const auto events = resumed.Events();
  // Exactly the missed ids, in order, each once, and nothing from before.
  std::vector<std::uint64_t> ids;
  for (const auto& e : events) {
    if (e.event == "transition") ids.push_back(std::stoull(e.id));
  }
  std::vector<std::uint64_t> want;
  for (std::uint64_t id = from + 1; id <= last; ++id) want.push_back(id);
  ids.resize(std::min(ids.size(), want.size()));  // newer live events may follow
  EXPECT_EQ(ids, want);
  EXPECT_TRUE(resumed.Saw("n3", "down"));
  EXPECT_TRUE(resumed.Saw("n3", "up"));
}

TEST(Cluster, Ipv6LoopbackWorksTheSame) {
  if (!Ipv6LoopbackAvailable()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  ClusterOptions o;
  o.host = "::1";
  Cluster c(o);
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  ExpectCrashDetected(c);
}

}  // namespace
}  // namespace vigil::testing
