// Helpers for tests of a Node that enrolls (tests/daemon/): times, a keyring, an
// enrolling configuration and signed heartbeats.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/node.h"
#include "tests/unit/test_messages.h"
#include "tests/unit/test_time.h"

namespace vigil::testing {

// `ms` after the start of the test, on both clocks (the wall clock at 1.8e12 ms).
inline Timestamp T(double ms) {
  return {AtMs(ms), WallTime(std::chrono::milliseconds(1'800'000'000'000LL +
                                                       static_cast<long long>(ms)))};
}

inline Keyring Ring(const std::string& base64) {
  auto r = Keyring::Parse(base64 + "\n");
  EXPECT_TRUE(r) << r.message();
  return *r;
}

inline Config EnrollingConfig(const std::string& enrollment) {
  auto r = LoadConfigString("node: {id: me}\nheartbeat: {interval: 100ms}\n"
                            "detector: {kind: timeout, timeout: 500ms}\n"
                            "peers: [{id: a, address: 10.0.0.1}]\n"
                            "security: {keyring: /etc/vigil/keyring}\n"
                            "enrollment: {" + enrollment + "}\n",
                            "t.yaml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].ToString());
  return r.config.value_or(Config{});
}

// A heartbeat signed with `key` (unsigned when null), at a 100 ms interval.
inline std::vector<std::uint8_t> Heartbeat(const Key* key, std::string_view from,
                                           std::uint64_t inc, std::uint64_t seq) {
  return SignedMessage(key, from, inc, seq);
}

}  // namespace vigil::testing
