// What a client resuming the event stream (Last-Event-ID) is sent before live events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "daemon/clock.h"
#include "daemon/event_ring.h"
#include "daemon/node.h"

namespace vigil {

// Why a resuming client cannot be given every event it missed.
enum class GapReason {
  kNone,     // every missed event is still in the ring: they are replayed
  kEvicted,  // some missed events of this run were evicted from the ring
  kRestart,  // the id is from an earlier run of vigild, whose later events are not kept
  kUnknown,  // the id was never issued by this daemon (it is above the last one)
};

const char* GapReasonName(GapReason reason);

// Decides what a client that last saw `last_id` missed (docs/api.md, "Resuming").
// `last_id` 0 means "from the start of the ring".
GapReason ResumeGap(const Node& node, std::uint64_t last_id);

// The SSE text sent before live events to a client that last saw `last_id`, written a
// piece at a time so that no preamble is ever built whole: the missed events (one piece;
// the ring is bounded), or, when some cannot be replayed, an `event: gap` followed by one
// `event: state` per tracked peer with its state when its piece is written, in table
// order; the newest id as of the gap goes with the last state (with the gap if there is no
// peer), so a client that drops before the end resumes from its old id. Between pieces the
// table may change; each piece resumes after the last peer written (Node::FirstAfter), so
// a peer present throughout is sent exactly once, unless a reload (any: it may renumber the
// listed peers) comes meanwhile, when the states start over, or the last peers go away
// meanwhile, when the last one there is is sent again with the id. Not thread-safe; the Node must outlive the
// writer's use of it.
class ResumePreambleWriter {
 public:
  // Decides now (ResumeGap) what the client missed.
  ResumePreambleWriter(const Node& node, std::uint64_t last_id);

  // Appends the next piece to `out`: at most `max_peers` states (0: only what comes before
  // them, the replay or the gap), and no more once the piece holds `max_bytes` (at least one
  // state a piece otherwise). Returns true once the preamble is complete; calls after that
  // append nothing.
  bool WriteNext(const Node& node, std::string& out,
                 std::size_t max_bytes = SIZE_MAX, std::size_t max_peers = kPeersPerPiece);

  GapReason gap() const { return gap_; }

  static constexpr std::size_t kPeersPerPiece = 256;

 private:
  // Appends `p`'s `event: state`; the last one carries the gap's id.
  void AppendState(const PeerRecord& p, bool last, std::string& out);
  std::string IdLine() const;  // "id: <the newest id when the gap was written>\n"

  GapReason gap_;
  std::uint64_t last_id_;
  std::uint64_t gap_id_ = 0;
  std::uint64_t generation_ = 0;  // Node::reconfigurations() as of the last piece
  bool started_ = false;
  bool done_ = false;
  bool id_sent_ = false;
  std::optional<std::uint64_t> resume_after_;  // the order of the last peer written
};

// The whole preamble at once (tests; small tables).
std::string ResumePreamble(const Node& node, std::uint64_t last_id);

// One event of an SSE stream for `event` (id, event type, JSON data).
std::string FormatSseEvent(const EventRecord& event);

}  // namespace vigil
