// Why vigilctl could not connect to vigild's socket, said so that it points the right way:
// a user outside the socket's group is told which group, a path that is not a socket is
// called that, and "no daemon" says where to look.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace vigil {

// What one path looks like on disk (from stat).
struct PathFacts {
  bool exists = false;
  mode_t mode = 0;  // st_mode: type and permission bits
  std::string owner;  // user name, or the uid when it has none
  std::string group;  // group name, or the gid when it has none
};

// What the socket path and its directories look like to this user.
struct SocketFacts {
  PathFacts socket;
  // The first directory on the way to the socket this user may not search (enter), if any:
  // a non-member is usually stopped there (/run/vigil is 0750 vigil:vigil), not at the socket.
  std::optional<std::string> blocked_dir;
  PathFacts blocked_dir_facts;
  std::string user;  // this user's name (or uid)
};

// Looks at `path` and its directories as the calling user sees them.
SocketFacts ProbeSocket(const std::string& path);

// One line explaining a failed connect(2) to `path` with errno `err`, given `facts`.
std::string DescribeConnectError(const std::string& path, int err, const SocketFacts& facts);

// Whether a connect failure with errno `err` may go away by itself (the daemon is
// restarting: no socket file yet, nobody accepting yet), as opposed to needing a fix
// (permissions, a path that is not a socket).
bool ConnectErrorIsTransient(int err, const SocketFacts& facts);

}  // namespace vigil
