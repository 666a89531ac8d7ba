// docs/presence.md, run as printed: its Python sender enrolls with a real vigild and its
// Python application reads the answer over the real Unix socket.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "tests/integration/cluster.h"
#include "transport/keyring.h"

extern char** environ;

namespace vigil::testing {
namespace {

// The ```python blocks of docs/presence.md, in order.
std::vector<std::string> PythonBlocks() {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/presence.md");
  std::vector<std::string> blocks;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "```python") {
      inside = true;
      blocks.emplace_back();
    } else if (inside && line == "```") {
      inside = false;
    } else if (inside) {
      blocks.back() += line + "\n";
    }
  }
  return blocks;
}

// A child process, SIGKILLed when this goes away.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (::posix_spawnp(&pid_, args[0], nullptr, nullptr, args.data(), environ) != 0) pid_ = -1;
  }
  ~Child() { Kill(); }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

TEST(PresenceDoc, TheSenderAndTheApplicationWorkAsPrinted) {
  const auto blocks = PythonBlocks();
  ASSERT_EQ(blocks.size(), 2u) << "docs/presence.md: expected a sender and an application";
  ClusterOptions o;
  o.nodes = 1;
  Cluster cluster(o);
  const std::string sender = cluster.dir().File("sender.py");
  const std::string presence = cluster.dir().File("presence.py");
  std::ofstream(sender) << blocks[0];
  std::ofstream(presence) << blocks[1];
  WriteKeys(cluster.KeyFile(0), {GenerateKeyBase64()});
  cluster.WriteConfig(0, {},
                      fmt::format("security: {{keyring: {}}}\nenrollment: {{enabled: true, "
                                  "id_pattern: \"user-*\", retention: 1h}}\n",
                                  cluster.KeyFile(0)));
  Daemon& vigild = cluster.node(0);
  ASSERT_TRUE(vigild.Start()) << vigild.Log();
  auto ask = [&](const std::string& user) {
    std::string out;
    const int rc = RunCommand(fmt::format("python3 {} {} {}", presence, vigild.socket(), user),
                              &out, /*merge_stderr=*/true);
    return rc == 0 ? out : fmt::format("exit {}: {}", rc, out);
  };

  // The cluster's interval is 100 ms: the sender is told the same.
  Child client({"python3", sender, "127.0.0.1", std::to_string(cluster.port(0)),
                cluster.KeyFile(0), "user-42", "0.1"});
  ASSERT_TRUE(WaitUntil([&] { return vigild.PeerState("user-42") == "up"; }))
      << vigild.Log() << (client.running() ? "" : "\nthe sender exited");
  EXPECT_EQ(ask("user-42"), "online\n");
  EXPECT_EQ(ask("user-7"), "never seen\n");
  client.Kill();  // a crash: no leave
  ASSERT_TRUE(WaitUntil([&] { return vigild.PeerState("user-42") == "down"; })) << vigild.Log();
  EXPECT_EQ(ask("user-42"), "active 0 minutes ago\n");
  const auto summary = vigild.GetJson("/v1/summary");
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->at("enrolled").at("down").to_number<int>(), 1);
}

}  // namespace
}  // namespace vigil::testing
