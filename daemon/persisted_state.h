// What survives a restart: each peer's last heartbeat, state and since, incarnation and
// highest sequence number; the daemon's own incarnation and last event id. Plain data: the
// Node makes and restores it (sans I/O); state_file.h writes and reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"

namespace vigil {

struct PersistedPeer {
  std::string id;
  std::string state;  // a PeerStateName
  std::int64_t since_ms = 0;
  std::optional<std::int64_t> last_heartbeat_ms;
  std::uint64_t incarnation = 0;
  // The highest sequence number accepted from `incarnation` (0: none, or a version 1 file).
  // The next run rejects anything at or below it (and, after an unclean stop, a margin
  // above it), so datagrams recorded before a restart cannot be replayed after it.
  std::uint64_t sequence = 0;
  std::uint32_t interval_us = 0;  // the interval the peer advertised (0: unknown)
  // Accepted by enrollment, not listed in `peers:`: restored as enrolled (or remembered)
  // rather than dropped as no longer configured.
  bool enrolled = false;
};

struct PersistedState {
  std::string node_id;
  std::uint64_t incarnation = 0;  // this daemon's own, so the next one can exceed it
  std::int64_t written_ms = 0;
  // True only for the file written as the daemon stopped cleanly: nothing was accepted or
  // emitted after it. A periodic write (the daemon may be killed after it) leaves it false.
  bool clean_stop = false;
  std::uint64_t last_event_id = 0;  // the id of the last event of that run (0: none)
  std::vector<PersistedPeer> peers;
};

// How often a running daemon rewrites the state file (and at most how old the file is when
// the daemon is killed).
inline constexpr Duration kStateWriteInterval = std::chrono::seconds(5);

}  // namespace vigil
