// vigilctl against real daemons: exit codes, text and JSON output, wait and watch.
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "tests/integration/cluster.h"

namespace vigil::testing {
namespace {

class VigilctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<Cluster>();
    ASSERT_TRUE(cluster_->StartAll()) << cluster_->Logs();
    ASSERT_TRUE(WaitUntil([&] { return cluster_->AllSee("up"); })) << cluster_->Logs();
  }
  int Ctl(const std::string& args, std::string* out) {
    return RunCommand(fmt::format("{} --socket {} {}", VigilctlPath(), cluster_->node(0).socket(),
                                  args),
                      out, true);
  }
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(VigilctlTest, StatusShowsATableOfPeers) {
  std::string out;
  ASSERT_EQ(Ctl("status", &out), 0) << out;
  EXPECT_NE(out.find("PEER"), std::string::npos) << out;
  EXPECT_NE(out.find("LAST SEEN"), std::string::npos) << out;
  EXPECT_NE(out.find("n2"), std::string::npos) << out;
  EXPECT_NE(out.find("n3"), std::string::npos) << out;
  EXPECT_NE(out.find(" up "), std::string::npos) << out;
  ASSERT_EQ(Ctl("status --json", &out), 0);
  EXPECT_EQ(out.rfind("{\"peers\":[", 0), 0u) << out;
}

TEST_F(VigilctlTest, GetAndIsUpExitCodes) {
  std::string out;
  ASSERT_EQ(Ctl("get n2", &out), 0) << out;
  EXPECT_NE(out.find("state:"), std::string::npos) << out;
  EXPECT_EQ(Ctl("is-up n2", &out), 0) << out;
  EXPECT_EQ(out, "up\n");
  EXPECT_EQ(Ctl("is-up nobody", &out), 2) << out;
  EXPECT_EQ(Ctl("get nobody", &out), 1) << out;
  cluster_->node(2).Signal(SIGKILL);
  cluster_->node(2).WaitExit();
  EXPECT_EQ(Ctl("wait n3 --state down --timeout 20s", &out), 0) << out;
  EXPECT_EQ(Ctl("is-up n3 -q", &out), 1) << out;
  EXPECT_EQ(out, "");
}

TEST_F(VigilctlTest, WaitTimesOutWithExitOne) {
  std::string out;
  EXPECT_EQ(Ctl("wait n2 --state down --timeout 500ms", &out), 1) << out;
  EXPECT_NE(out.find("timed out"), std::string::npos) << out;
  // Already up: returns at once, not when the timeout expires (the bound is half of it,
  // generous for a loaded machine).
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Ctl("wait n2 --state up --timeout 120s", &out), 0) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
  EXPECT_EQ(Ctl("wait n2 --state sideways", &out), 2) << out;
}

TEST_F(VigilctlTest, WatchPrintsOneLinePerEvent) {
  const std::string file = cluster_->dir().File("watch.out");
  // watch runs until killed; give it a bounded life with timeout(1).
  std::thread watcher([&] {
    RunCommand(fmt::format("timeout 8 {} --socket {} watch > {} 2>&1", VigilctlPath(),
                           cluster_->node(0).socket(), file),
               nullptr);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  cluster_->node(2).Signal(SIGTERM);
  cluster_->node(2).WaitExit();
  watcher.join();
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_NE(s.str().find("n3  up -> left"), std::string::npos) << s.str();
}

TEST(VigilctlNoDaemon, SaysSoInOneLineAndExitsNonZero) {
  std::string out;
  const int rc = RunCommand(VigilctlPath() + " --socket /tmp/vigil-no-such.sock status", &out, true);
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find("no vigild listening on /tmp/vigil-no-such.sock"), std::string::npos) << out;
}

TEST(VigilctlCheckConfig, ValidatesWithoutADaemon) {
  std::string out;
  TempDir dir;
  // The shipped example, with its paths moved to where this test may create things (the
  // check also verifies the socket's directory and the state directory, as vigild's start).
  {
    std::stringstream example;
    example << std::ifstream(VIGIL_EXAMPLE_CONFIG).rdbuf();
    std::string text = example.str();
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"/run/vigil", dir.path()},
                                   {"/var/lib/vigil", dir.File("state")}}) {
      for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
        text.replace(at, from.size(), to);
        at += to.size();
      }
    }
    std::ofstream(dir.File("example.yaml")) << text;
  }
  EXPECT_EQ(RunCommand(VigilctlPath() + " check-config " + dir.File("example.yaml"), &out, true), 0)
      << out;
  std::ofstream(dir.File("bad.yaml")) << "node:\n  id: a\nheartbeat:\n  intervall: 1s\n";
  EXPECT_EQ(RunCommand(VigilctlPath() + " check-config " + dir.File("bad.yaml"), &out, true), 1);
  EXPECT_NE(out.find("bad.yaml:4:3: heartbeat.intervall: unknown key; did you mean 'interval'?"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace vigil::testing
