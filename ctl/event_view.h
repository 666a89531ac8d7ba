// How vigilctl shows and judges the events of /v1/events: transitions, and the `gap` and
// `state` events a resumed stream starts with when some events cannot be replayed
// (docs/api.md, "Resuming").
#pragma once

#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "ctl/api_client.h"

namespace vigil {

// "2026-12-03 08:40:01  #17  n3  up -> down  (silence, phi 8)"
std::string TransitionLine(const boost::json::object& e);
// "2026-12-03 08:40:01  #18  member n4  suspect -> down  (agreement 4/4, incarnation 9)"
std::string MemberLine(const boost::json::object& e);
// "gap: vigild restarted ...; current state follows"
std::string GapLine(const boost::json::object& gap);
// "2026-12-03 08:39:58  state  n3  up  (since 3s ago; last heartbeat now; incarnation 7)"
std::string StateLine(const boost::json::object& state);

// watch's line for one event; nullopt for an event that is not JSON.
std::optional<std::string> WatchText(const SseEvent& e);
// watch --json's line: a transition's data as sent; the data of `gap`, `state` and `member`
// events with "event":"gap" / "state" / "member" added, since their fields alone do not say.
std::optional<std::string> WatchJson(const SseEvent& e);

// What `vigilctl wait PEER --state STATE` waits for.
class WaitCondition {
 public:
  WaitCondition(std::string peer, std::string state)
      : peer_(std::move(peer)), state_(std::move(state)) {}
  // True when `e` shows the peer in the state: a transition into it, the `state` event a
  // resumed stream sends for it (after a restart the peer may already be there, with no
  // transition to come), or a cluster member's `member` event into it.
  bool ReachedBy(const SseEvent& e) const;
  // True when a /v1/peers/{id} object, or a /v1/members entry, is in the state.
  bool ReachedBy(const boost::json::object& peer) const;
  const std::string& state() const { return state_; }

 private:
  std::string peer_, state_;
};

}  // namespace vigil
