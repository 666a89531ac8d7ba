// A bounded ring of recent transitions, for clients that reconnect with Last-Event-ID.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "detector/peer_state.h"

namespace vigil {

// A transition as the API reports it.
struct EventRecord {
  std::uint64_t id = 0;
  std::string peer;
  PeerState from = PeerState::kUnknown;
  PeerState to = PeerState::kUnknown;
  TransitionReason reason = TransitionReason::kHeartbeat;
  std::int64_t wall_ms = 0;  // when, in epoch milliseconds (display only)
  double level = 0;
  std::uint64_t incarnation = 0;
  // A change of this cluster member's view (docs/api.md, "event: member"): `peer` names the
  // member, `level` is unused; false: a peer's transition.
  bool member = false;
  std::string_view member_reason;  // "agreement", "dispute", "admitted": a static string
  int reports = -1;                // -1: null
  int observers = -1;
};

// Keeps the newest `capacity` events; ids are those of the transitions (strictly
// increasing). Not thread-safe.
class EventRing {
 public:
  explicit EventRing(std::size_t capacity) : capacity_(capacity ? capacity : 1) {}

  void Push(EventRecord event);

  // Every kept event with id > last_id, oldest first. *gap is set when events after
  // last_id were already evicted (the client missed some and should re-read the state).
  std::vector<EventRecord> After(std::uint64_t last_id, bool* gap) const;

  std::uint64_t last_id() const { return events_.empty() ? 0 : events_.back().id; }
  std::size_t size() const { return events_.size(); }
  void set_capacity(std::size_t capacity);

 private:
  std::size_t capacity_;
  std::deque<EventRecord> events_;
  std::uint64_t evicted_up_to_ = 0;  // highest id evicted
};

}  // namespace vigil
