// A bounded ring of recent transitions, for clients that reconnect with Last-Event-ID.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "detector/peer_state.h"

namespace vigil {

// Why a cluster member's view changed (docs/api.md, "event: member").
enum class MemberReason : std::uint8_t { kAgreement, kDispute, kAdmitted };
std::string_view MemberReasonName(MemberReason reason);  // "agreement", ...

// A transition as the API reports it: a peer's, or a change of this cluster member's view
// (`member`: then `peer` names the member and `level` is unused). The member's fields sit in
// the padding after `reason`: a million peers' ring costs no more for them.
struct EventRecord {
  static constexpr std::uint8_t kNoCount = 0xff;  // reports, observers: null
  std::uint64_t id = 0;
  std::string peer;
  PeerState from = PeerState::kUnknown;
  PeerState to = PeerState::kUnknown;
  TransitionReason reason = TransitionReason::kHeartbeat;
  bool member = false;
  MemberReason member_reason = MemberReason::kAdmitted;
  std::uint8_t reports = kNoCount;
  std::uint8_t observers = kNoCount;
  std::int64_t wall_ms = 0;  // when, in epoch milliseconds (display only)
  double level = 0;
  std::uint64_t incarnation = 0;
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
