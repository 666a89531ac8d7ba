// vigil-loadgen --redis: the seed's design, fed at the same pace as vigild.
#include "tools/loadgen/redis_feed.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tools/loadgen/pacing.h"

namespace vigil {

// The seed's design at the same pace: `SET user:<id> 1 EX 30` per heartbeat, in RESP over
// --sources TCP connections to a redis-server at --to (round robin), replies read and
// counted as they come.
Totals SendRedisPaced(const RedisFeed& o, const sockaddr_in& to) {
  std::vector<int> fds;
  for (unsigned c = 0; c < o.connections; ++c) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
      std::perror("vigil-loadgen: connect to redis");
      std::exit(1);
    }
    fds.push_back(fd);
  }
  const std::size_t width = fmt::format("{}", o.senders - 1).size();
  Totals t;
  std::uint64_t replies = 0;
  char sink[65536];
  auto read_replies = [&](int flags) {
    for (int fd : fds) {
      for (ssize_t n; (n = ::recv(fd, sink, sizeof sink, flags)) > 0;) {
        replies += static_cast<std::uint64_t>(std::count(sink, sink + n, '\n'));
        if (flags == 0) break;
      }
    }
  };
  Paced(o.rate, o.seconds, o.count, [&](std::uint64_t k, double) {
    const std::string key = fmt::format("{}{:0{}}", o.prefix, k % o.senders, width);
    const std::string command = fmt::format(
        "*5\r\n$3\r\nSET\r\n${}\r\n{}\r\n$1\r\n1\r\n$2\r\nEX\r\n$2\r\n30\r\n",
        key.size(), key);
    if (::send(fds[k % fds.size()], command.data(), command.size(), 0) < 0) {
      ++t.errors;
    } else {
      ++t.sent;
    }
    if (k % 64 == 63) read_replies(MSG_DONTWAIT);
  });
  for (auto give_up = Clock::now() + std::chrono::seconds(10);
       replies < t.sent && Clock::now() < give_up;) {
    read_replies(MSG_DONTWAIT);
  }
  t.errors += t.sent - std::min(t.sent, replies);
  for (int fd : fds) ::close(fd);
  return t;
}

}  // namespace vigil
