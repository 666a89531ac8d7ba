// What a reload does with each setting (config/reload_plan.h), and docs/operations.md's
// "Reload" section says the same.
#include "config/reload_plan.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/settings.h"

namespace vigil {
namespace {

Config Load(const std::string& yaml) {
  auto loaded = LoadConfigString(yaml, "vigil.yaml");
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].ToString());
  return loaded.config.value_or(Config{});
}

const std::string kRunning =
    "node: {id: a, bind: 127.0.0.1:7000}\nheartbeat: {interval: 1s}\n"
    "peers: [{id: b, address: 10.0.0.2}]\napi: {socket: /tmp/a.sock, max_connections: 5}\n"
    "log: {level: info}\n";

TEST(ReloadPlan, AnUnchangedFileChangesNothing) {
  const ReloadPlan plan = PlanReload(Load(kRunning), Load(kRunning));
  EXPECT_FALSE(plan.refusal);
  EXPECT_TRUE(plan.at_restart.empty());
  EXPECT_FALSE(plan.interval_changed);
  EXPECT_FALSE(plan.log_level_changed);
  EXPECT_TRUE(plan.config == Load(kRunning));
}

TEST(ReloadPlan, SocketsAndDirectoriesWaitForARestartAndTheRestApplies) {
  const Config running = Load(kRunning);
  const ReloadPlan plan = PlanReload(
      running, Load("node: {id: a, bind: 127.0.0.1:7001}\nheartbeat: {interval: 2s}\n"
                    "peers: [{id: c, address: 10.0.0.3}]\n"
                    "api: {socket: /tmp/b.sock, max_connections: 9}\nlog: {level: debug}\n"
                    "state: {directory: /tmp/elsewhere}\n"));
  ASSERT_FALSE(plan.refusal);
  EXPECT_EQ(plan.at_restart,
            (std::vector<std::string_view>{"node.bind", "api.socket", "state.directory"}));
  EXPECT_EQ(plan.config.node.bind, running.node.bind);
  EXPECT_EQ(plan.config.api.socket, running.api.socket);
  EXPECT_EQ(plan.config.state.directory, running.state.directory);
  EXPECT_EQ(plan.config.api.max_connections, 9u);
  EXPECT_EQ(plan.config.heartbeat.interval, std::chrono::seconds(2));
  ASSERT_EQ(plan.config.peers.size(), 1u);
  EXPECT_EQ(plan.config.peers[0].id, "c");
  EXPECT_TRUE(plan.interval_changed);
  EXPECT_TRUE(plan.log_level_changed);
}

TEST(ReloadPlan, ANewNodeIdIsRefused) {
  const ReloadPlan plan = PlanReload(Load(kRunning), Load("node: {id: z}\n"));
  ASSERT_TRUE(plan.refusal);
  EXPECT_EQ(plan.refusal->key, "node.id");
  EXPECT_EQ(plan.refusal->message, "cannot change from 'a' to 'z' on reload; restart vigild");
}

// The Reload section of docs/operations.md names exactly the settings a reload keeps.
TEST(ReloadPlan, TheOperationsGuideNamesTheSettingsThatNeedARestart) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/operations.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const auto begin = doc.find("## Reload");
  ASSERT_NE(begin, std::string::npos);
  const auto end = doc.find("needing a restart", begin);
  ASSERT_NE(end, std::string::npos);
  const std::string sentence = doc.substr(doc.rfind("again (", end), end - doc.rfind("again (", end));
  for (const Setting& s : Settings()) {
    const bool named = sentence.find("`" + std::string(s.key) + "`") != std::string::npos;
    EXPECT_EQ(named, s.on_reload == OnReload::kRestart) << s.key << " in: " << sentence;
  }
  EXPECT_NE(doc.find("a different `node.id` is refused", begin), std::string::npos);
}

}  // namespace
}  // namespace vigil
