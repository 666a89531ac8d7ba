// Authenticated heartbeats between real daemons: an impostor without the key cannot make a
// dead peer look up; a key rotation done as docs/security.md says produces no `down`.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include <fmt/ranges.h>

#include "tests/integration/cluster.h"
#include "transport/keyring.h"

namespace vigil::testing {
namespace {

void WriteKeys(const std::string& path, const std::vector<std::string>& keys) {
  std::ofstream(path, std::ios::trunc) << fmt::format("{}\n", fmt::join(keys, "\n"));
  ::chmod(path.c_str(), 0600);
}

std::string KeyFile(const Cluster& c, int i) { return c.dir().File(fmt::format("n{}.keys", i + 1)); }

void UseKeys(Cluster& c, int n) {
  for (int i = 0; i < n; ++i) {
    std::vector<int> others;
    for (int j = 0; j < n; ++j) {
      if (j != i) others.push_back(j);
    }
    c.WriteConfig(i, others, fmt::format("security:\n  keyring: {}\n", KeyFile(c, i)));
  }
}

double Rejected(const Daemon& d, const std::string& reason) {
  std::string error;
  const auto r = d.Client().Get("/metrics", &error);
  if (!r) return -1;
  const std::string key = "\nvigil_datagrams_rejected_total{reason=\"" + reason + "\"} ";
  const auto at = r->body.find(key);
  return at == std::string::npos ? -1 : std::stod(r->body.substr(at + key.size()));
}

TEST(Authentication, AnImpostorWithoutTheKeyCannotMakeAPeerLookUp) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  const std::string key = GenerateKeyBase64();
  for (int i = 0; i < 2; ++i) WriteKeys(KeyFile(c, i), {key});
  UseKeys(c, 2);
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  // n2 dies. An impostor on n2's port claims to be n2, first without a keyring...
  c.node(1).Signal(SIGKILL);
  c.node(1).WaitExit();
  ASSERT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n2") == "down"; }));
  c.WriteConfig(1, {0}, "");
  ASSERT_TRUE(c.node(1).Start()) << c.node(1).Log();
  EXPECT_TRUE(WaitUntil([&] { return Rejected(c.node(0), "unauthenticated") > 5; }));
  EXPECT_EQ(c.node(0).PeerState("n2"), "down");
  c.node(1).Signal(SIGKILL);
  c.node(1).WaitExit();
  // ...then with a key of its own.
  WriteKeys(KeyFile(c, 1), {GenerateKeyBase64()});
  c.WriteConfig(1, {0}, fmt::format("security:\n  keyring: {}\n", KeyFile(c, 1)));
  ASSERT_TRUE(c.node(1).Start()) << c.node(1).Log();
  EXPECT_TRUE(WaitUntil([&] {
    return Rejected(c.node(0), "unknown_key") + Rejected(c.node(0), "bad_mac") > 5;
  }));
  EXPECT_EQ(c.node(0).PeerState("n2"), "down");
  // Meanwhile n1 itself is rejected by the impostor for the same reason: it can't verify.
  EXPECT_NE(c.node(0).PeerState("n2"), "up");
}

TEST(Authentication, KeyRotationStepByStepCausesNoDown) {
  Cluster c;
  const std::string old_key = GenerateKeyBase64();
  const std::string new_key = GenerateKeyBase64();
  for (int i = 0; i < 3; ++i) WriteKeys(KeyFile(c, i), {old_key});
  UseKeys(c, 3);
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  std::vector<std::unique_ptr<EventCollector>> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(std::make_unique<EventCollector>(c.node(i).socket()));
    ASSERT_TRUE(events.back()->WaitOpen());
  }
  auto step = [&](const std::vector<std::string>& keys) {
    for (int i = 0; i < 3; ++i) {
      WriteKeys(KeyFile(c, i), keys);
      c.node(i).Signal(SIGHUP);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // one host at a time
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  };
  step({old_key, new_key});  // 1. install the new key everywhere (old still primary)
  step({new_key, old_key});  // 2. make the new key primary everywhere
  step({new_key});           // 3. remove the old key
  EXPECT_TRUE(c.AllSee("up")) << c.Logs();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_FALSE(events[static_cast<std::size_t>(i)]->Saw(fmt::format("n{}", j + 1), "down"))
          << "n" << i + 1 << " saw n" << j + 1 << " down\n" << c.Logs();
    }
    EXPECT_EQ(Rejected(c.node(i), "bad_mac"), 0) << c.node(i).Log();
  }
  // And the old key is really gone: a datagram signed with it no longer counts.
  EXPECT_NE(c.node(0).Log().find("reload: signing with key id"), std::string::npos);
}

TEST(Authentication, AKeyringOthersCanReadIsRefusedAtStart) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  WriteKeys(KeyFile(c, 0), {GenerateKeyBase64()});
  ::chmod(KeyFile(c, 0).c_str(), 0644);
  c.WriteConfig(0, {1}, fmt::format("security:\n  keyring: {}\n", KeyFile(c, 0)));
  EXPECT_FALSE(c.node(0).Start());
  EXPECT_EQ(c.node(0).WaitExit(), 1);
  EXPECT_NE(c.node(0).Log().find("accessible to other users (mode 0644)"), std::string::npos)
      << c.node(0).Log();
}

}  // namespace
}  // namespace vigil::testing
