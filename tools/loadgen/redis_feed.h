// vigil-loadgen --redis: `SET <id> 1 EX 30` per heartbeat to a redis-server (the design
// vigil is compared with in bench/measure_ingest.py).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "tools/loadgen/pacing.h"

namespace vigil {

struct RedisFeed {
  std::string prefix;      // key k is <prefix><k % senders>, zero-padded
  std::uint64_t senders;
  double rate;             // commands per second, evenly paced (> 0)
  double seconds;
  std::uint64_t count;     // 0: until `seconds`
  unsigned connections;    // TCP connections, used round robin
};

// Sends the feed to the redis-server at `to`, reading replies as they come; exits the process
// if it cannot connect. A command without a reply within 10 s of the end counts as an error.
Totals SendRedisPaced(const RedisFeed& feed, const sockaddr_in& to);

}  // namespace vigil
