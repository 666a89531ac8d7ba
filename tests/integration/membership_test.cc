// vigild as a cluster member (docs/membership.md, "vigild as a member"): real daemons on
// loopback, given only the seeds' addresses and the cluster's key, join one cluster, agree
// that a killed member is down, take a stopped one out and back, take one stopped with
// SIGTERM out as left and back when it restarts, and keep out a stranger with another key
// and a flood of garbage.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <random>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "tests/integration/cluster.h"
#include "transport/keyring.h"

namespace vigil::testing {
namespace {

namespace json = boost::json;

// Joining takes seconds (a 3 s wait for the first seed, 1 s retries), detection a few
// heartbeats and a cut: generous, under ASan on a shared machine.
constexpr std::chrono::seconds kClusterDeadline{60};

class Membership : public ::testing::Test {
 protected:
  // `nodes` daemons with no peers, n1 and n2 as seeds; the first `keyed` share one key,
  // the rest have a key of their own.
  void SetUpCluster(int nodes, int keyed) {
    ClusterOptions o;
    o.nodes = nodes;
    cluster = std::make_unique<Cluster>(o);
    const std::string key = GenerateKeyBase64();
    for (int i = 0; i < nodes; ++i) {
      WriteKeys(cluster->KeyFile(i), {i < keyed ? key : GenerateKeyBase64()});
      cluster->WriteConfig(
          i, {},
          fmt::format("security:\n  keyring: {}\ncluster:\n  seeds: [\"127.0.0.1:{}\", "
                      "\"127.0.0.1:{}\"]\n",
                      cluster->KeyFile(i), cluster->port(0), cluster->port(1)));
    }
  }
  Daemon& n(int i) { return cluster->node(i - 1); }
  // The entry for `id` in n(i)'s /v1/members; null if absent or no answer.
  json::value Entry(int i, const std::string& id) {
    const auto doc = n(i).GetJson("/v1/members");
    if (!doc || !doc->is_object()) return nullptr;
    for (const auto& e : doc->as_object().at("list").as_array()) {
      if (e.as_object().at("id").as_string() == id) return e;
    }
    return nullptr;
  }
  std::string State(int i, const std::string& id) {
    const json::value e = Entry(i, id);
    return e.is_object() ? std::string(e.as_object().at("state").as_string()) : "";
  }
  std::int64_t Members(int i) {
    const auto doc = n(i).GetJson("/v1/members");
    return doc && doc->is_object() ? doc->as_object().at("members").as_int64() : -1;
  }
  // True once each of `who` holds exactly `who` (by number) as up members.
  bool AllSeeEachOther(const std::vector<int>& who) {
    for (int i : who) {
      if (Members(i) != static_cast<std::int64_t>(who.size())) return false;
      for (int j : who) {
        if (State(i, fmt::format("n{}", j)) != "up") return false;
      }
    }
    return true;
  }
  bool AllSay(const std::vector<int>& who, const std::string& id, const std::string& state) {
    for (int i : who) {
      if (State(i, id) != state) return false;
    }
    return true;
  }
  std::string Logs() { return cluster->Logs(); }
  // The data of the `event: member` events about `id` that `c` collected, in order.
  static std::vector<json::object> MemberEvents(const EventCollector& c, const std::string& id) {
    std::vector<json::object> out;
    for (const auto& e : c.Events()) {
      if (e.event != "member") continue;
      json::value v = json::parse(e.data);
      if (v.as_object().at("member").as_string() == id) out.push_back(v.as_object());
    }
    return out;
  }

  std::unique_ptr<Cluster> cluster;
};

TEST_F(Membership, MembersJoinThroughSeedsAndAgreeThatAKilledOneIsDown) {
  SetUpCluster(5, 5);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(n(i).Start()) << n(i).Log();
  ASSERT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3, 4, 5}); }, kClusterDeadline))
      << Logs();
  // Each member lists the others where they are.
  const json::value four = Entry(1, "n4");
  EXPECT_EQ(four.as_object().at("address").as_string(),
            fmt::format("127.0.0.1:{}", cluster->port(3)));
  const std::uint64_t first_run = four.as_object().at("incarnation").to_number<std::uint64_t>();
  EXPECT_GT(n(1).Metric("vigil_cluster_datagrams_received_total{kind=\"heartbeat\"}"), 0);
  // Pages of two, by id, through the cursor.
  std::vector<std::string> ids;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    const std::string more = cursor.empty() ? "" : "&cursor=" + cursor;
    const auto doc = n(1).GetJson("/v1/members?limit=2" + more);
    ASSERT_TRUE(doc && doc->is_object());
    for (const auto& e : doc->as_object().at("list").as_array()) {
      ids.emplace_back(e.as_object().at("id").as_string());
    }
    const auto& next = doc->as_object().at("next_cursor");
    if (next.is_null()) break;
    cursor = std::string(next.as_string());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"n1", "n2", "n3", "n4", "n5"}));
  int status = 0;
  n(1).GetJson("/v1/members?limit=0", &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(Entry(1, "n1").as_object().at("provenance").as_string(), "self");
  EXPECT_EQ(Entry(1, "n2").as_object().at("provenance").as_string(), "watched");
  std::string out;
  ASSERT_EQ(RunCommand(VigilctlPath() + " --socket " + n(2).socket() + " members", &out), 0)
      << out;
  EXPECT_NE(out.find("cluster member n2, incarnation "), std::string::npos) << out;
  EXPECT_NE(out.find(": 5 members (0 suspect), 0 down, 0 left; it holds 100.0% of the cluster "
                     "(a majority)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(fmt::format("127.0.0.1:{}", cluster->port(3))), std::string::npos) << out;

  EventCollector events(n(1).socket());
  ASSERT_TRUE(events.WaitOpen());
  n(4).Signal(SIGKILL);
  n(4).WaitExit();
  ASSERT_TRUE(WaitUntil([&] { return AllSay({1, 2, 3, 5}, "n4", "down"); }, kClusterDeadline))
      << Logs();
  for (int i : {1, 2, 3, 5}) EXPECT_EQ(Members(i), 4) << "n" << i;
  // The removal is an event of n1's stream, with the agreement behind it.
  ASSERT_TRUE(WaitUntil([&] { return !MemberEvents(events, "n4").empty(); })) << Logs();
  const json::object removed = MemberEvents(events, "n4").front();
  EXPECT_EQ(removed.at("from").as_string(), "suspect");
  EXPECT_EQ(removed.at("to").as_string(), "down");
  EXPECT_EQ(removed.at("reason").as_string(), "agreement");
  EXPECT_EQ(removed.at("reports").as_int64(), 4);
  EXPECT_EQ(removed.at("observers").as_int64(), 4);
  EXPECT_EQ(removed.at("incarnation").to_number<std::uint64_t>(), first_run);
  // Each survivor took it out itself, when its 4 observers (all of them) agreed.
  for (int i : {1, 2, 3, 5}) {
    const json::object e = Entry(i, "n4").as_object();
    EXPECT_EQ(e.at("provenance").as_string(), "agreement") << "n" << i;
    EXPECT_EQ(e.at("reports").as_int64(), 4) << "n" << i;
    EXPECT_EQ(e.at("observers").as_int64(), 4) << "n" << i;
    EXPECT_LT(e.at("last_heartbeat").as_int64(), e.at("since").as_int64()) << "n" << i;
  }
  const auto self = n(1).GetJson("/v1/self");
  ASSERT_TRUE(self && self->is_object());
  const json::object& c = self->as_object().at("cluster").as_object();
  EXPECT_EQ(c.at("members").as_int64(), 4);
  EXPECT_EQ(c.at("down").as_int64(), 1);
  EXPECT_DOUBLE_EQ(c.at("reach").as_double(), 0.8);
  EXPECT_TRUE(c.at("majority").as_bool());
  EXPECT_DOUBLE_EQ(n(1).Metric("vigil_cluster_reach_ratio"), 0.8);
  EXPECT_EQ(n(1).Metric("vigil_cluster_majority"), 1);
  EXPECT_EQ(n(1).Metric("vigil_cluster_suspect"), 0);
  const auto summary = n(2).GetJson("/v1/summary");
  ASSERT_TRUE(summary && summary->is_object());
  EXPECT_EQ(summary->as_object().at("cluster").as_object().at("taken_out").as_int64(), 1);
  ASSERT_EQ(RunCommand(VigilctlPath() + " --socket " + n(1).socket() + " members --state down",
                       &out),
            0);
  EXPECT_NE(out.find(": 4 members (0 suspect), 1 down, 0 left; it holds 80.0% of the cluster"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("agreement 4/4"), std::string::npos) << out;
  EXPECT_EQ(out.find("n2"), std::string::npos) << out;  // up: not asked for
  ASSERT_EQ(RunCommand(VigilctlPath() + " --socket " + n(1).socket() + " status", &out), 0);
  EXPECT_NE(out.find("cluster member n1, incarnation "), std::string::npos) << out;
  EXPECT_NE(out.find("(no peers: 'vigilctl members' lists the members)"), std::string::npos)
      << out;
  EXPECT_TRUE(AllSay({1, 2, 3, 5}, "n2", "up"));

  // Restarted, it is a newer incarnation of itself: back everywhere.
  ASSERT_TRUE(n(4).Start()) << n(4).Log();
  ASSERT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3, 4, 5}); }, kClusterDeadline))
      << Logs();
  EXPECT_GT(Entry(2, "n4").as_object().at("incarnation").to_number<std::uint64_t>(), first_run);
  ASSERT_TRUE(WaitUntil([&] { return MemberEvents(events, "n4").size() >= 2; })) << Logs();
  const json::object back = MemberEvents(events, "n4")[1];
  EXPECT_EQ(back.at("from").as_string(), "down");
  EXPECT_EQ(back.at("to").as_string(), "up");
  EXPECT_EQ(back.at("reason").as_string(), "admitted");
  EXPECT_GT(back.at("id").to_number<std::uint64_t>(), removed.at("id").to_number<std::uint64_t>());
  // From the start of n1's ring, the same two events of n4, replayed in order. (n4's
  // first admission may or may not be there: n1 may have copied it with the list.)
  EventCollector replay(n(1).socket(), "0");
  ASSERT_TRUE(WaitUntil([&] { return MemberEvents(replay, "n4").size() >= 2; })) << Logs();
  const auto replayed = MemberEvents(replay, "n4");
  EXPECT_EQ(replayed[replayed.size() - 2], removed);
  EXPECT_EQ(replayed.back(), back);
}

TEST_F(Membership, AStoppedMemberIsTakenOutAndComesBackWhenItRunsAgain) {
  SetUpCluster(4, 4);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(n(i).Start()) << n(i).Log();
  ASSERT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3}); }, kClusterDeadline))
      << Logs();
  // Started while n4 copies the member list, which has no events: wait reads it again.
  ASSERT_TRUE(n(4).Start()) << n(4).Log();
  std::string text;
  EXPECT_EQ(RunCommand(VigilctlPath() + " --socket " + n(4).socket() +
                           " wait n2 --state up --timeout 60s",
                       &text),
            0)
      << text << Logs();
  ASSERT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3, 4}); }, kClusterDeadline))
      << Logs();
  // vigilctl wait follows a member through the event stream (docs/vigilctl.md).
  const std::string wait = VigilctlPath() + " --socket " + n(1).socket() + " wait n3 ";
  EXPECT_EQ(RunCommand(wait + "--state suspect --timeout 1s", &text, true), 2) << text;
  EXPECT_NE(text.find("a member's suspicion has no event to wait for"), std::string::npos)
      << text;
  n(3).Signal(SIGSTOP);
  const int status = RunCommand(wait + "--state down --timeout 60s", &text);
  const bool out = WaitUntil([&] { return AllSay({1, 2, 4}, "n3", "down"); }, kClusterDeadline);
  n(3).Signal(SIGCONT);
  ASSERT_TRUE(out) << Logs();
  EXPECT_EQ(status, 0) << text;
  EXPECT_EQ(text, "n3 is down\n");
  EXPECT_EQ(RunCommand(wait + "--state up --timeout 60s", &text), 0) << text << Logs();
  ASSERT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3, 4}); }, kClusterDeadline))
      << Logs();
  EXPECT_GE(n(3).Metric("vigil_cluster_refutations_total"), 1);
  // A member this node has never seen may join yet: waited for, not refused.
  EXPECT_EQ(RunCommand(VigilctlPath() + " --socket " + n(1).socket() +
                           " wait n9 --state up --timeout 1s",
                       &text, true),
            1)
      << text;
  EXPECT_NE(text.find("timed out after 1000 ms waiting for n9 to be up"), std::string::npos)
      << text;
  EXPECT_EQ(RunCommand(VigilctlPath() + " --socket " + n(1).socket() +
                           " wait 'n3&state=up' --state up --timeout 1s",
                       &text, true),
            2)
      << text;
  EXPECT_NE(text.find("'n3&state=up' is not an id"), std::string::npos) << text;
}

// docs/membership.md, "Leaving".
TEST_F(Membership, AMemberStoppedWithSigtermOrSigintLeavesAndRejoinsWhenRestarted) {
  SetUpCluster(3, 3);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(n(i).Start()) << n(i).Log();
  ASSERT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3}); }, kClusterDeadline))
      << Logs();
  n(1).Signal(SIGTERM);
  ASSERT_EQ(n(1).WaitExit(), 0) << n(1).Log();
  EXPECT_NE(n(1).Log().find("cluster: leaving: told 2 member(s)"), std::string::npos)
      << n(1).Log();
  // Taken out as left, not down, at both others.
  ASSERT_TRUE(WaitUntil([&] { return AllSay({2, 3}, "n1", "left"); }, kClusterDeadline))
      << Logs();
  for (int i : {2, 3}) {
    EXPECT_EQ(Members(i), 2) << "n" << i;
    EXPECT_EQ(n(i).Metric("vigil_cluster_left"), 1) << "n" << i;
    EXPECT_NE(n(i).Log().find("cluster: member 'n1' taken out (left)"), std::string::npos)
        << n(i).Log();
  }
  std::string out;
  ASSERT_EQ(RunCommand(VigilctlPath() + " --socket " + n(2).socket() + " members", &out), 0);
  EXPECT_NE(out.find(": 2 members (0 suspect), 0 down, 1 left; it holds 100.0% of the cluster"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("left"), std::string::npos) << out;
  ASSERT_TRUE(n(1).Start()) << n(1).Log();
  ASSERT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3}); }, kClusterDeadline))
      << Logs();
  // SIGINT leaves as SIGTERM does.
  n(3).Signal(SIGINT);
  ASSERT_EQ(n(3).WaitExit(), 0) << n(3).Log();
  ASSERT_TRUE(WaitUntil([&] { return AllSay({1, 2}, "n3", "left"); }, kClusterDeadline))
      << Logs();
}

// docs/membership.md, "vigild as a member": seeds given as host names are resolved (and
// again later); one that is this node itself is not asked; one that does not resolve is
// logged and counted, and the others serve.
TEST_F(Membership, SeedsGivenAsHostNamesAreResolved) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  const bool localhost = ::getaddrinfo("localhost", nullptr, &hints, &found) == 0;
  if (found != nullptr) ::freeaddrinfo(found);
  if (!localhost) GTEST_SKIP() << "localhost does not resolve to an IPv4 address here";
  ClusterOptions o;
  o.nodes = 3;
  cluster = std::make_unique<Cluster>(o);
  const std::string key = GenerateKeyBase64();
  for (int i = 0; i < 3; ++i) {
    WriteKeys(cluster->KeyFile(i), {key});
    const std::string stray = i == 2 ? ", \"no-such-seed.invalid:9\"" : "";
    cluster->WriteConfig(
        i, {},
        fmt::format("security:\n  keyring: {}\ncluster:\n  seeds: [\"localhost:{}\", "
                    "\"localhost:{}\"{}]\n",
                    cluster->KeyFile(i), cluster->port(0), cluster->port(1), stray));
  }
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(n(i).Start()) << n(i).Log();
  ASSERT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3}); }, kClusterDeadline))
      << Logs();
  EXPECT_NE(n(1).Log().find(fmt::format("cluster: seed localhost:{} is this node itself",
                                        cluster->port(0))),
            std::string::npos)
      << n(1).Log();
  EXPECT_NE(n(3).Log().find(fmt::format("cluster: seed localhost:{} is at 127.0.0.1:{}",
                                        cluster->port(0), cluster->port(0))),
            std::string::npos)
      << n(3).Log();
  // A name that does not resolve is logged and counted (where a resolver answers every
  // name, it resolves like any other, and nothing is left unresolved).
  bool failed = false;
  ASSERT_TRUE(WaitUntil(
      [&] {
        const std::string log = n(3).Log();
        failed = log.find("cluster: cannot resolve seed no-such-seed.invalid:9") !=
                 std::string::npos;
        return failed || log.find("cluster: seed no-such-seed.invalid:9 is at") !=
                             std::string::npos;
      },
      kClusterDeadline))
      << n(3).Log();
  EXPECT_EQ(n(3).Metric("vigil_cluster_seeds_unresolved"), failed ? 1 : 0);
  EXPECT_EQ(n(2).Metric("vigil_cluster_seeds_unresolved"), 0);
}

// Random bytes behind a membership header, from one socket, paced.
void Flood(int port, int count) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  std::mt19937 rng(7);
  for (int k = 0; k < count; ++k) {
    std::vector<std::uint8_t> d(8 + rng() % 1300);
    for (auto& b : d) b = static_cast<std::uint8_t>(rng());
    d[0] = 0x56;
    d[1] = 0x47;
    d[2] = 3;
    d[3] = 3;
    if (k % 2 == 0 && d.size() > 40) d[4] = 1;  // claims a trailer
    ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    if (k % 20 == 19) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::close(fd);
}

TEST_F(Membership, AStrangerWithAnotherKeyAndAFloodOfGarbageChangeNothing) {
  SetUpCluster(4, 3);
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(n(i).Start()) << n(i).Log();
  ASSERT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3}); }, kClusterDeadline))
      << Logs();
  auto refused = [&](int i) {
    return n(i).Metric("vigil_cluster_datagrams_rejected_total{reason=\"unknown_key\"}") +
           n(i).Metric("vigil_cluster_datagrams_rejected_total{reason=\"bad_mac\"}");
  };
  // n4's Joins reach the seeds and are refused there.
  ASSERT_TRUE(WaitUntil([&] { return refused(1) + refused(2) > 0; }, kClusterDeadline))
      << Logs();
  Flood(cluster->port(0), 3000);
  ASSERT_TRUE(WaitUntil([&] {
    return n(1).Metric("vigil_cluster_datagrams_rejected_total{reason=\"length_mismatch\"}") +
               n(1).Metric("vigil_cluster_datagrams_rejected_total{reason=\"bad_flags\"}") +
               n(1).Metric("vigil_cluster_datagrams_rejected_total{reason=\"bad_id_length\"}") >
           100;
  })) << n(1).Log();
  // Seconds later: still the three of them, n4 on its own, nobody down.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(AllSeeEachOther({1, 2, 3})) << Logs();
  for (int i : {1, 2, 3}) EXPECT_EQ(State(i, "n4"), "") << "n" << i;
  EXPECT_EQ(Members(4), 1);
  EXPECT_TRUE(n(1).running());
  EXPECT_NE(n(1).Log().find("cluster: rejected datagram from 127.0.0.1"), std::string::npos)
      << n(1).Log();
}

// n1's receive buffer overflows: a flood goes on while n1 is stopped for half a second, so
// the kernel drops what does not fit, members' heartbeats among it. Once it runs again n1
// finds the drops, says it abstains and logs it; once they stop, it reports again.
TEST_F(Membership, AMemberWhoseSocketOverflowsAbstainsAndSaysSo) {
  SetUpCluster(3, 3);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(n(i).Start()) << n(i).Log();
  ASSERT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3}); }, kClusterDeadline))
      << Logs();
  auto overflow = [&]() -> json::object {
    const auto self = n(1).GetJson("/v1/self");
    if (!self || !self->is_object()) return {};
    return self->as_object().at("cluster").as_object().at("receive_overflow").as_object();
  };
  auto state = [&] {
    const json::object o = overflow();
    return o.empty() ? std::string() : std::string(o.at("state").as_string());
  };
  EXPECT_EQ(state(), "ok");
  std::string out;
  std::thread flood([&] {
    RunCommand(fmt::format("{} --to 127.0.0.1:{} --rate 0 --seconds 4", VIGIL_UDPFLOOD_PATH,
                           cluster->port(0)),
               &out);
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  n(1).Signal(SIGSTOP);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  n(1).Signal(SIGCONT);
  // Polled while the flood goes on (the API stays up under it).
  const bool abstained =
      WaitUntil([&] { return state() == "abstaining"; }, std::chrono::seconds(20));
  flood.join();
  ASSERT_TRUE(abstained) << out << n(1).Log();
  EXPECT_GT(n(1).Metric("vigil_receive_buffer_drops_total"), 0);
  // A listen window after the last drop, n1 reports again.
  ASSERT_TRUE(WaitUntil([&] { return state() == "ok"; }, kClusterDeadline)) << n(1).Log();
  const json::object o = overflow();
  EXPECT_GE(o.at("episodes").as_int64(), 1);
  EXPECT_GT(o.at("last_episode_drops").as_int64(), 0);
  EXPECT_EQ(o.at("capped_episodes").as_int64(), 0);  // 4 s is well short of 30 s
  EXPECT_EQ(o.at("holding_reports_ms").as_int64(), 0);
  EXPECT_GE(n(1).Metric("vigil_cluster_receive_overflows_total"), 1);
  EXPECT_NE(n(1).Log().find("reporting no member until it has listened for"),
            std::string::npos) << n(1).Log();
  EXPECT_NE(n(1).Log().find("reporting members again ("), std::string::npos) << n(1).Log();
  EXPECT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3}); }, kClusterDeadline))
      << Logs();
  EXPECT_TRUE(n(1).running());
}

TEST_F(Membership, AReloadRotatesTheKeyAndRefusesToAddPeers) {
  SetUpCluster(3, 3);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(n(i).Start()) << n(i).Log();
  ASSERT_TRUE(WaitUntil([&] { return AllSeeEachOther({1, 2, 3}); }, kClusterDeadline))
      << Logs();
  std::ifstream in(cluster->KeyFile(0));
  std::string old_key;
  std::getline(in, old_key);
  const std::string new_key = GenerateKeyBase64();
  // security.md's runbook: the new key everywhere, then primary everywhere, then alone.
  int step = 0;
  for (const std::vector<std::string>& ring :
       {std::vector<std::string>{old_key, new_key}, {new_key, old_key}, {new_key}}) {
    ++step;
    for (int i = 1; i <= 3; ++i) {
      WriteKeys(cluster->KeyFile(i - 1), ring);
      n(i).Signal(SIGHUP);
    }
    // Every member has taken this step before the next one (as the runbook says).
    ASSERT_TRUE(WaitUntil([&] {
      for (int i = 1; i <= 3; ++i) {
        if (n(i).Metric("vigil_config_reloads_total{result=\"ok\"}") < step) return false;
      }
      return true;
    })) << Logs();
  }
  // Seconds on the new key alone: nobody taken out, heartbeats still accepted.
  const double heard = n(1).Metric("vigil_cluster_datagrams_received_total{kind=\"heartbeat\"}");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(AllSeeEachOther({1, 2, 3})) << Logs();
  EXPECT_GT(n(1).Metric("vigil_cluster_datagrams_received_total{kind=\"heartbeat\"}"), heard);
  // A file that drops cluster.seeds (kept until a restart) and lists a peer would make the
  // running member a peer node too: the reload is refused, and it runs on as a member.
  cluster->WriteConfig(0, {1}, fmt::format("security:\n  keyring: {}\n", cluster->KeyFile(0)));
  n(1).Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] {
    return n(1).Metric("vigil_config_reloads_total{result=\"failed\"}") >= 1;
  })) << n(1).Log();
  EXPECT_NE(n(1).Log().find("peers: cannot be added to a running cluster member"),
            std::string::npos);
  EXPECT_EQ(Members(1), 3);
}

TEST_F(Membership, ANodeThatIsNotAMemberSaysSo) {
  ClusterOptions o;
  o.nodes = 1;
  cluster = std::make_unique<Cluster>(o);
  cluster->WriteConfig(0, {});
  ASSERT_TRUE(n(1).Start()) << n(1).Log();
  int status = 0;
  const auto doc = n(1).GetJson("/v1/members", &status);
  EXPECT_EQ(status, 404);
  ASSERT_TRUE(doc);
  EXPECT_NE(json::serialize(*doc).find("cluster.seeds"), std::string::npos);
  const auto self = n(1).GetJson("/v1/self");
  ASSERT_TRUE(self && self->is_object());
  EXPECT_FALSE(self->as_object().contains("cluster"));  // only on a member
  std::string out;
  EXPECT_EQ(RunCommand(VigilctlPath() + " --socket " + n(1).socket() + " members", &out, true),
            1);
  EXPECT_NE(out.find("not a cluster member"), std::string::npos) << out;
}

}  // namespace
}  // namespace vigil::testing
