// vigilctl's connect errors point the right way: permission names the group to join, a
// path that is not a socket is called that, no daemon says where to look. The facts a real
// stat would give are injected here; tests/integration/vigilctl_errors_test.cc reproduces
// the real cases.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cerrno>

#include "ctl/connect_error.h"

namespace vigil {
namespace {

PathFacts Path(mode_t mode, std::string owner, std::string group) {
  return {true, mode, std::move(owner), std::move(group)};
}

SocketFacts Socket(mode_t mode) {
  SocketFacts f;
  f.socket = Path(mode, "vigil", "vigil");
  f.user = "alice";
  return f;
}

constexpr const char* kSock = "/run/vigil/vigil.sock";

TEST(ConnectError, PermissionOnTheSocketNamesItsGroupAndHowToJoin) {
  const std::string m = DescribeConnectError(kSock, EACCES, Socket(S_IFSOCK | 0660));
  EXPECT_NE(m.find("permission denied: user alice may not connect to vigild's socket "
                   "/run/vigil/vigil.sock (owner vigil, group vigil, mode 0660)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("add the user to group 'vigil' (sudo usermod -aG vigil alice"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("no vigild listening"), std::string::npos) << m;  // the old, wrong lead
}

TEST(ConnectError, PermissionOnTheDirectoryNamesTheDirectoryAndItsGroup) {
  SocketFacts f = Socket(S_IFSOCK | 0660);
  f.blocked_dir = "/run/vigil";
  f.blocked_dir_facts = Path(S_IFDIR | 0750, "vigil", "vigil");
  const std::string m = DescribeConnectError(kSock, EACCES, f);
  EXPECT_NE(m.find("user alice may not enter /run/vigil (owner vigil, group vigil, mode 0750)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("add the user to group 'vigil'"), std::string::npos) << m;
}

TEST(ConnectError, WhenTheGroupHasNoAccessEitherJoiningItIsNotSuggested) {
  SocketFacts f = Socket(S_IFSOCK | 0600);
  f.socket.owner = "root";
  std::string m = DescribeConnectError(kSock, EACCES, f);
  EXPECT_EQ(m.find("usermod"), std::string::npos) << m;
  EXPECT_NE(m.find("no access either: run vigilctl as root, or set api.mode"), std::string::npos)
      << m;
  f.blocked_dir = "/srv/x";
  f.blocked_dir_facts = Path(S_IFDIR | 0700, "vigil", "vigil");
  m = DescribeConnectError(kSock, EACCES, f);
  EXPECT_NE(m.find("run vigilctl as root or as 'vigil', or let the group in (chmod g+x /srv/x)"),
            std::string::npos)
      << m;
}

TEST(ConnectError, ARegularFileOrADirectoryIsNotASocket) {
  for (const auto& [mode, kind] : {std::pair{S_IFREG | 0644, "a regular file"},
                                   std::pair{S_IFDIR | 0755, "a directory"}}) {
    for (int err : {ECONNREFUSED, ENOTSOCK}) {
      const std::string m = DescribeConnectError("/tmp/x", err, Socket(mode));
      EXPECT_NE(m.find(std::string("/tmp/x is not a socket (it is ") + kind + ")"),
                std::string::npos)
          << m;
      EXPECT_FALSE(ConnectErrorIsTransient(err, Socket(mode))) << m;
    }
  }
}

TEST(ConnectError, NoDaemonSaysWhereToLook) {
  SocketFacts missing;
  missing.user = "alice";
  for (const auto& [err, facts, why] :
       {std::tuple{ENOENT, missing, "no such socket"},
        std::tuple{ECONNREFUSED, Socket(S_IFSOCK | 0660), "the socket exists but nobody accepts"}}) {
    const std::string m = DescribeConnectError(kSock, err, facts);
    EXPECT_EQ(m.rfind("no vigild listening on /run/vigil/vigil.sock: ", 0), 0u) << m;
    EXPECT_NE(m.find(why), std::string::npos) << m;
    for (const char* hint : {"systemctl status vigil", "--socket PATH", "$VIGIL_SOCKET"}) {
      EXPECT_NE(m.find(hint), std::string::npos) << hint << ": " << m;
    }
    EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;
    EXPECT_TRUE(ConnectErrorIsTransient(err, facts)) << "a restarting daemon looks like this";
  }
}

TEST(ConnectError, PermissionAndLongPathsAreNotRetried) {
  EXPECT_FALSE(ConnectErrorIsTransient(EACCES, Socket(S_IFSOCK | 0660)));
  EXPECT_FALSE(ConnectErrorIsTransient(ENAMETOOLONG, SocketFacts{}));
  const std::string m = DescribeConnectError(std::string(120, 'x'), ENAMETOOLONG, SocketFacts{});
  EXPECT_NE(m.find("is too long (120 bytes; a Unix socket path may have at most 107)"),
            std::string::npos)
      << m;
}

}  // namespace
}  // namespace vigil
