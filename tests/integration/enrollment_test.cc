// Enrollment with real daemons (issue 14, item 1): n1 lists nobody and enrolls whoever signs
// with its key; n2 and n3 are real vigild senders that list n1; n4 sends unsigned.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "tests/integration/cluster.h"
#include "transport/keyring.h"

namespace vigil::testing {
namespace {

// The first key of a keyring file.
std::string ReadKey(const std::string& path) {
  std::ifstream in(path);
  std::string key;
  std::getline(in, key);
  return key;
}

class Enrollment : public ::testing::Test {
 protected:
  // n1 enrolls with `enrollment` (YAML flow keys); n2, n3 sign with n1's key, n4 does not.
  void SetUpCluster(const std::string& enrollment) {
    ClusterOptions o;
    o.nodes = 4;
    cluster = std::make_unique<Cluster>(o);
    const std::string key = GenerateKeyBase64();
    for (int i = 0; i < 3; ++i) WriteKeys(cluster->KeyFile(i), {key});
    auto keyring = [&](int i) {
      return fmt::format("security: {{keyring: {}}}\n", cluster->KeyFile(i));
    };
    cluster->WriteConfig(0, {}, keyring(0) + "enrollment: {enabled: true, " + enrollment + "}\n");
    cluster->WriteConfig(1, {0}, keyring(1));
    cluster->WriteConfig(2, {0}, keyring(2));
    cluster->WriteConfig(3, {0});
  }
  Daemon& n(int i) { return cluster->node(i - 1); }
  double Rejected(const std::string& reason) {
    return n(1).Metric("vigil_datagrams_rejected_total{reason=\"" + reason + "\"}");
  }

  std::unique_ptr<Cluster> cluster;
};

TEST_F(Enrollment, AnAuthenticatedUnlistedSenderIsEnrolledAndAnUnsignedOneIsNot) {
  SetUpCluster("id_pattern: \"n*\"");
  ASSERT_TRUE(n(1).Start()) << n(1).Log();
  ASSERT_TRUE(n(2).Start()) << n(2).Log();
  ASSERT_TRUE(n(4).Start()) << n(4).Log();
  ASSERT_TRUE(WaitUntil([&] { return n(1).PeerState("n2") == "up"; })) << n(1).Log();
  const auto peer = n(1).GetJson("/v1/peers/n2");
  ASSERT_TRUE(peer);
  EXPECT_TRUE(peer->as_object().at("enrolled").as_bool());
  EXPECT_TRUE(peer->as_object().at("address").is_null());
  ASSERT_TRUE(WaitUntil([&] { return Rejected("unauthenticated") > 0; })) << n(1).Log();
  int status = 0;
  n(1).GetJson("/v1/peers/n4", &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(n(1).Metric("vigil_enrolled_peers"), 1);
  // Per-peer series are for listed peers only.
  const auto metrics = n(1).Client().Get("/metrics");
  ASSERT_TRUE(metrics) << metrics.message();
  EXPECT_EQ(metrics->body.find("peer=\"n2\""), std::string::npos);
  // n1 sends the enrolled peer nothing: n2 never hears n1.
  EXPECT_EQ(n(1).Metric("vigil_heartbeats_sent_total"), 0);
}

TEST_F(Enrollment, TheCapRefusesANewcomerAndKeepsTheEnrolledPeer) {
  SetUpCluster("max_peers: 1");
  ASSERT_TRUE(n(1).Start()) << n(1).Log();
  ASSERT_TRUE(n(2).Start()) << n(2).Log();
  ASSERT_TRUE(WaitUntil([&] { return n(1).PeerState("n2") == "up"; })) << n(1).Log();
  ASSERT_TRUE(n(3).Start()) << n(3).Log();
  ASSERT_TRUE(WaitUntil([&] { return Rejected("enrollment_full") >= 5; })) << n(1).Log();
  EXPECT_EQ(n(1).PeerState("n2"), "up");
  int status = 0;
  n(1).GetJson("/v1/peers/n3", &status);
  EXPECT_EQ(status, 404);
  // One warning, not one per datagram.
  const std::string log = n(1).Log();
  const auto first = log.find("enrollment.max_peers (1) reached");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("enrollment.max_peers (1) reached", first + 1), std::string::npos) << log;
}

TEST_F(Enrollment, AForgottenPeerIsRememberedAcrossARestartAndComesBack) {
  SetUpCluster("retention: 2s");
  ASSERT_TRUE(n(1).Start()) << n(1).Log();
  ASSERT_TRUE(n(2).Start()) << n(2).Log();
  ASSERT_TRUE(WaitUntil([&] { return n(1).PeerState("n2") == "up"; })) << n(1).Log();
  n(2).Signal(SIGKILL);
  n(2).WaitExit();
  auto remembered = [&] {
    const auto v = n(1).GetJson("/v1/peers/n2");
    return v && v->as_object().if_contains("remembered") &&
           v->as_object().at("remembered").as_bool();
  };
  ASSERT_TRUE(WaitUntil(remembered)) << n(1).Log();
  EXPECT_EQ(n(1).PeerState("n2"), "down");
  EXPECT_EQ(n(1).Metric("vigil_remembered_peers"), 1);
  const auto list = n(1).GetJson("/v1/peers");
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->as_object().at("peers").as_array().empty());
  // The restart of the receiver keeps it (state file), twice over.
  for (int run = 0; run < 2; ++run) {
    n(1).Signal(SIGTERM);
    ASSERT_EQ(n(1).WaitExit(), 0);
    ASSERT_TRUE(n(1).Start()) << n(1).Log();
    EXPECT_TRUE(remembered()) << n(1).Log();
  }
  // Heard again: tracked and up.
  ASSERT_TRUE(n(2).Start()) << n(2).Log();
  ASSERT_TRUE(WaitUntil([&] { return n(1).PeerState("n2") == "up"; })) << n(1).Log();
  EXPECT_FALSE(remembered());
  EXPECT_EQ(n(1).Metric("vigil_enrolled_peers"), 1);
}

// Paging over the real socket while a peer enrolls between pages: every peer once, the
// newcomer included, and filters and a bad parameter answered as documented.
TEST_F(Enrollment, PagesReturnEveryPeerOnceWhilePeersArrive) {
  SetUpCluster("id_pattern: \"n*\"");
  for (int i : {1, 2, 3}) ASSERT_TRUE(n(i).Start()) << n(i).Log();
  ASSERT_TRUE(WaitUntil([&] {
    return n(1).PeerState("n2") == "up" && n(1).PeerState("n3") == "up";
  })) << n(1).Log();
  std::vector<std::string> seen;
  std::string target = "/v1/peers?limit=1";
  for (int page = 0; page < 10; ++page) {
    const auto v = n(1).GetJson(target);
    ASSERT_TRUE(v) << target;
    for (const auto& p : v->as_object().at("peers").as_array()) {
      seen.emplace_back(p.as_object().at("id").as_string());
    }
    if (page == 0) {  // n4 signs with no key: give it n1's and let it enroll
      WriteKeys(cluster->KeyFile(3), {ReadKey(cluster->KeyFile(0))});
      cluster->WriteConfig(3, {0}, fmt::format("security: {{keyring: {}}}\n", cluster->KeyFile(3)));
      ASSERT_TRUE(n(4).Start()) << n(4).Log();
      ASSERT_TRUE(WaitUntil([&] { return n(1).PeerState("n4") == "up"; })) << n(1).Log();
    }
    const auto& next = v->as_object().at("next_cursor");
    if (next.is_null()) break;
    target = "/v1/peers?limit=1&cursor=" + std::string(next.as_string());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"n2", "n3", "n4"}));
  const auto up = n(1).GetJson("/v1/peers?state=up&prefix=n3");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->as_object().at("peers").as_array().size(), 1u);
  int status = 0;
  n(1).GetJson("/v1/peers?limit=0", &status);
  EXPECT_EQ(status, 400);
}

}  // namespace
}  // namespace vigil::testing
