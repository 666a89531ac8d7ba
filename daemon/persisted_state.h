// What survives a restart: each peer's last heartbeat, state and since, incarnation and
// highest sequence number; the daemon's own incarnation and last event id. Plain data: the
// Node makes and restores it (sans I/O); state_file.h writes and reads it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "detector/peer_state.h"

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

// One peer's record as a snapshot hands it out, viewing the id (valid during the call that
// receives it): what the state file holds, without a copy of the id or a state name.
struct PeerFields {
  std::string_view id;
  PeerState state = PeerState::kUnknown;
  bool enrolled = false;
  std::int64_t since_ms = 0;
  std::optional<std::int64_t> last_heartbeat_ms;
  std::uint64_t incarnation = 0;
  std::uint64_t sequence = 0;
  std::uint32_t interval_us = 0;
};

// Conversions between the two views of a peer's record.
inline PersistedPeer ToPersisted(const PeerFields& f) {
  return PersistedPeer{std::string(f.id), std::string(PeerStateName(f.state)), f.since_ms,
                       f.last_heartbeat_ms, f.incarnation, f.sequence, f.interval_us,
                       f.enrolled};
}
inline PeerFields FieldsOf(const PersistedPeer& p) {
  return PeerFields{p.id, ParsePeerState(p.state).value_or(PeerState::kUnknown), p.enrolled,
                    p.since_ms, p.last_heartbeat_ms, p.incarnation, p.sequence,
                    p.interval_us};
}

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

// How often a running daemon rewrites a state file of `records` peer records (and at most
// how old the file is when the daemon is killed): every 5 s, and no more often than every
// 20 µs per record (20 s at 1,000,000), so a large table is not rewritten whole (50 MB at a
// million) every few seconds. The next run computes the same figure from the file's record
// count, for its replay margin.
inline Duration StateWriteInterval(std::size_t records) {
  return std::max<Duration>(std::chrono::seconds(5),
                            std::chrono::microseconds(20) * static_cast<std::int64_t>(records));
}

}  // namespace vigil
