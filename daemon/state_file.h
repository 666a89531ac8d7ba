// What survives a restart: each peer's last heartbeat, last state and since, incarnation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/clock.h"

namespace vigil {

struct PersistedPeer {
  std::string id;
  std::string state;  // a PeerStateName
  std::int64_t since_ms = 0;
  std::optional<std::int64_t> last_heartbeat_ms;
  std::uint64_t incarnation = 0;
};

struct PersistedState {
  std::string node_id;
  std::uint64_t incarnation = 0;  // this daemon's own, so the next one can exceed it
  std::int64_t written_ms = 0;
  std::vector<PersistedPeer> peers;
};

inline constexpr const char* kStateFileName = "state.json";

// Writes `state` to `dir`/state.json atomically: a temporary file in the same directory,
// fsync, rename over the old file, fsync of the directory. A crash at any point leaves
// either the old or the new file, never a mix. Returns an error message on failure.
std::optional<std::string> WriteStateFile(const std::string& dir, const PersistedState& state);

enum class StateLoad { kOk, kMissing, kBad };

// Reads `dir`/state.json. kBad (with *why) for anything that is not a complete state file
// of node `node_id`: unreadable, truncated, corrupt, another format or version, or another
// node's. Never throws.
StateLoad ReadStateFile(const std::string& dir, const std::string& node_id, PersistedState* out,
                        std::string* why);

// Renames a bad state file to state.json.bad-<epoch ms> so it can be inspected, and returns
// the new path ("" if the rename failed).
std::string QuarantineStateFile(const std::string& dir, WallTime now);

}  // namespace vigil
