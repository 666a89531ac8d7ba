// What a client resuming the event stream (Last-Event-ID) is sent before live events.
#pragma once

#include <cstdint>
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

// The SSE text sent before live events: the missed events, or, when some cannot be
// replayed, an `event: gap` (carrying the current last id) followed by one `event: state`
// per peer with its current state.
std::string ResumePreamble(const Node& node, std::uint64_t last_id, Timestamp now);

// One event of an SSE stream for `event` (id, event type, JSON data).
std::string FormatSseEvent(const EventRecord& event);

}  // namespace vigil
