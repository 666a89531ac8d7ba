// vigilctl's connection errors against real sockets and a real vigild: a user without
// permission is told which group to join, a path that is not a socket is called that, and
// "no daemon" says where to look.
#include <gtest/gtest.h>

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/integration/cluster.h"

namespace vigil::testing {
namespace {

std::string Ctl(const std::string& socket, int* rc, const std::string& prefix = "") {
  std::string out;
  *rc = RunCommand(fmt::format("{}{} --socket {} status", prefix, VigilctlPath(), socket), &out,
                   true);
  return out;
}

std::size_t Lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

TEST(VigilctlErrors, APathThatIsNotASocketIsCalledThat) {
  TempDir dir;
  std::ofstream(dir.File("file")) << "not a socket\n";
  std::filesystem::create_directory(dir.File("dir"));
  for (const auto& [name, kind] : {std::pair{"file", "a regular file"},
                                   std::pair{"dir", "a directory"}}) {
    int rc = 0;
    const std::string out = Ctl(dir.File(name), &rc);
    EXPECT_EQ(rc, 2) << out;
    EXPECT_EQ(Lines(out), 1u) << out;
    EXPECT_NE(out.find(dir.File(name) + " is not a socket (it is " + kind + ")"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("refused"), std::string::npos) << out;
  }
}

TEST(VigilctlErrors, NoDaemonSaysWhereToLook) {
  TempDir dir;
  // A socket file nobody listens on: what a crashed vigild leaves behind.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, dir.File("stale.sock").c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  for (const auto& [name, why] : {std::pair{"missing.sock", "no such socket"},
                                  std::pair{"stale.sock", "the socket exists but nobody accepts connections on it"}}) {
    int rc = 0;
    const std::string out = Ctl(dir.File(name), &rc);
    EXPECT_EQ(rc, 2) << out;
    EXPECT_EQ(Lines(out), 1u) << out;
    EXPECT_NE(out.find("no vigild listening on " + dir.File(name) + ": " + why),
              std::string::npos)
        << out;
    for (const char* hint : {"systemctl status vigil", "--socket PATH", "$VIGIL_SOCKET"}) {
      EXPECT_NE(out.find(hint), std::string::npos) << hint << ": " << out;
    }
  }
  // Both of the ways it names really select the socket.
  int rc = 0;
  std::string out;
  rc = RunCommand("VIGIL_SOCKET=" + dir.File("env.sock") + " " + VigilctlPath() + " status", &out,
                  true);
  EXPECT_NE(out.find("no vigild listening on " + dir.File("env.sock")), std::string::npos) << out;
  EXPECT_EQ(rc, 2);
}

// Runs vigilctl as `nobody` (no supplementary groups) against a real vigild: the one real
// way to be refused by the socket's permissions when the tests run as root.
class VigilctlPermission : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run vigilctl as another user";
    if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
    const group* g = ::getgrnam("daemon");
    if (g == nullptr) GTEST_SKIP() << "needs group daemon";
    group_ = g->gr_gid;  // before the next lookup reuses *g
    if (::getpwnam("nobody") == nullptr || ::getgrnam("nogroup") == nullptr) {
      GTEST_SKIP() << "needs user nobody and group nogroup";
    }
    ClusterOptions o;
    o.nodes = 2;
    cluster_ = std::make_unique<Cluster>(o);
    ASSERT_TRUE(cluster_->node(0).Start()) << cluster_->node(0).Log();
  }
  std::string AsNobody(int* rc) {
    return Ctl(cluster_->node(0).socket(), rc,
               "setpriv --reuid=nobody --regid=nogroup --clear-groups ");
  }
  gid_t group_ = 0;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(VigilctlPermission, OnTheSocketNamesItsGroupAndSuggestsJoiningIt) {
  const std::string socket = cluster_->node(0).socket();
  ASSERT_EQ(::chmod(cluster_->dir().path().c_str(), 0755), 0);  // the way in is open
  ASSERT_EQ(::chown(socket.c_str(), 0, group_), 0);             // like vigil:vigil 0660
  int rc = 0;
  std::string out = Ctl(socket, &rc);
  ASSERT_EQ(rc, 0) << "root may: " << out;
  out = AsNobody(&rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_EQ(Lines(out), 1u) << out;
  EXPECT_NE(out.find("permission denied: user nobody may not connect to vigild's socket " +
                     socket + " (owner root, group daemon, mode 0660)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("add the user to group 'daemon' (sudo usermod -aG daemon nobody"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("no vigild listening"), std::string::npos) << out;
}

TEST_F(VigilctlPermission, OnItsDirectoryNamesTheDirectoryAndItsGroup) {
  const std::string dir = cluster_->dir().path();
  ASSERT_EQ(::chown(dir.c_str(), 0, group_), 0);  // like /run/vigil: vigil:vigil 0750
  ASSERT_EQ(::chmod(dir.c_str(), 0750), 0);
  int rc = 0;
  const std::string out = AsNobody(&rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("permission denied: user nobody may not enter " + dir +
                     " (owner root, group daemon, mode 0750), the directory of vigild's socket"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("add the user to group 'daemon'"), std::string::npos) << out;
}

}  // namespace
}  // namespace vigil::testing
