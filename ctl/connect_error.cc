#include "ctl/connect_error.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace vigil {

namespace {

std::string UserName(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw ? std::string(pw->pw_name) : std::to_string(uid);
}

std::string GroupName(gid_t gid) {
  const group* gr = ::getgrgid(gid);
  return gr ? std::string(gr->gr_name) : std::to_string(gid);
}

PathFacts Facts(const std::string& path) {
  PathFacts f;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return f;
  f.exists = true;
  f.mode = st.st_mode;
  f.owner = UserName(st.st_uid);
  f.group = GroupName(st.st_gid);
  return f;
}

const char* KindOf(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a socket";
}

std::string Ownership(const PathFacts& f) {
  return fmt::format("owner {}, group {}, mode {:04o}", f.owner, f.group, f.mode & 07777);
}

// What to do about a permission problem on `f`, where `group_bit` is the permission the
// group needs (search for a directory, write for the socket) and `widen` says how to grant
// it when the group lacks it too.
std::string PermissionAdvice(const PathFacts& f, mode_t group_bit, const std::string& user,
                             const std::string& widen) {
  if ((f.mode & group_bit) != 0) {
    return fmt::format("add the user to group '{0}' (sudo usermod -aG {0} {1}, then log in "
                       "again) or run vigilctl as root",
                       f.group, user);
  }
  const std::string as = f.owner == "root" ? "root" : fmt::format("root or as '{}'", f.owner);
  return fmt::format("its mode gives group '{}' no access either: run vigilctl as {}, or {}",
                     f.group, as, widen);
}

constexpr const char* kWhereToLook =
    "is vigild running? check 'systemctl status vigil'; if it serves another socket, pass "
    "--socket PATH or set $VIGIL_SOCKET";

}  // namespace

SocketFacts ProbeSocket(const std::string& path) {
  SocketFacts facts;
  facts.socket = Facts(path);
  facts.user = UserName(::geteuid());
  // Every directory on the way, outermost first: the first one we may not enter is where
  // connect(2) was stopped.
  std::string dir = path.front() == '/' ? "/" : ".";
  for (std::size_t at = path.find('/', 1); at != std::string::npos;
       at = path.find('/', at + 1)) {
    if (::access(dir.c_str(), X_OK) != 0 && errno == EACCES) break;
    dir = path.substr(0, at);
  }
  if (::access(dir.c_str(), X_OK) != 0 && errno == EACCES) {
    facts.blocked_dir = dir;
    facts.blocked_dir_facts = Facts(dir);
  }
  return facts;
}

std::string DescribeConnectError(const std::string& path, int err, const SocketFacts& facts) {
  if (err == EACCES || err == EPERM) {
    if (facts.blocked_dir) {
      return fmt::format(
          "permission denied: user {} may not enter {} ({}), the directory of vigild's socket "
          "{}; {}",
          facts.user, *facts.blocked_dir, Ownership(facts.blocked_dir_facts), path,
          PermissionAdvice(facts.blocked_dir_facts, S_IXGRP, facts.user,
                           fmt::format("let the group in (chmod g+x {})", *facts.blocked_dir)));
    }
    return fmt::format("permission denied: user {} may not connect to vigild's socket {} ({}); {}",
                       facts.user, path, Ownership(facts.socket),
                       PermissionAdvice(facts.socket, S_IWGRP, facts.user,
                                        "set api.mode: \"0660\" in vigil.yaml"));
  }
  if (facts.socket.exists && !S_ISSOCK(facts.socket.mode)) {
    return fmt::format("{} is not a socket (it is {}): point vigilctl at vigild's socket "
                       "(api.socket in vigil.yaml) with --socket PATH or $VIGIL_SOCKET",
                       path, KindOf(facts.socket.mode));
  }
  if (err == ENOENT) {
    return fmt::format("no vigild listening on {}: no such socket; {}", path, kWhereToLook);
  }
  if (err == ECONNREFUSED) {
    return fmt::format("no vigild listening on {}: the socket exists but nobody accepts "
                       "connections on it (left by a vigild that stopped?); {}",
                       path, kWhereToLook);
  }
  if (err == ENAMETOOLONG) {
    return fmt::format("the socket path {} is too long ({} bytes; a Unix socket path may have "
                       "at most {})",
                       path, path.size(), sizeof(sockaddr_un::sun_path) - 1);
  }
  if (err == EAGAIN) {
    return fmt::format("vigild on {} is not accepting connections right now (its backlog is "
                       "full); try again",
                       path);
  }
  return fmt::format("cannot connect to vigild on {}: {}", path, std::strerror(err));
}

bool ConnectErrorIsTransient(int err, const SocketFacts& facts) {
  if (facts.socket.exists && !S_ISSOCK(facts.socket.mode)) return false;
  return err == ENOENT || err == ECONNREFUSED || err == EAGAIN || err == ECONNRESET ||
         err == ETIMEDOUT;
}

}  // namespace vigil
