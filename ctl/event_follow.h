// Following vigild's event stream across daemon restarts: what `vigilctl wait` and
// `vigilctl watch` use so a restart of vigil does not end them.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "ctl/api_client.h"

namespace vigil {

// Delays between reconnection attempts: `first`, doubling up to `max`.
class Backoff {
 public:
  explicit Backoff(std::chrono::milliseconds first = std::chrono::milliseconds(100),
                   std::chrono::milliseconds max = std::chrono::seconds(2))
      : first_(first), max_(max), next_(first) {}
  std::chrono::milliseconds Next();
  void Reset() { next_ = first_; }

 private:
  std::chrono::milliseconds first_, max_, next_;
};

struct FollowOptions {
  std::string last_event_id;  // resume after this id from the start; empty: live events only
  // Stop at this point in time (wait's --timeout), whether connected or not.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Give up when one outage lasts this long (watch's --timeout). None: retry forever.
  std::optional<std::chrono::milliseconds> max_outage;
  Backoff backoff;
  // Where the one line per outage ("reconnecting") and per recovery go; null: nowhere.
  std::ostream* notices = nullptr;
};

enum class FollowEnd {
  kStopped,   // a handler said stop
  kTimedOut,  // the deadline passed
  kGaveUp,    // an outage outlasted max_outage
  kFailed,    // the first connection failed, or an error no retry can fix
};

struct FollowResult {
  FollowEnd end = FollowEnd::kFailed;
  std::string error;  // for kFailed and kGaveUp; the last failure during an outage
  // Set when it ended during an outage: how long vigild had been unreachable.
  std::optional<std::chrono::milliseconds> outage;
};

struct FollowHandlers {
  // Runs each time a stream is established; `reconnected` is false the first time.
  // Returning false stops.
  std::function<bool(bool reconnected)> on_open;
  // Runs per event (including the `gap` and `state` events of a resumed stream).
  std::function<bool(const SseEvent&)> on_event;
  // If set, runs about once a second while connected (StreamHandlers::on_tick).
  std::function<bool()> on_tick;
};

// Follows /v1/events. The first connection must succeed (a wrong --socket fails at once,
// as in every other command); after that, a closed or broken stream is reopened with the
// Last-Event-ID of the last event received, after the backoff, until the deadline or
// max_outage.
FollowResult FollowEvents(const ApiClient& client, const FollowOptions& options,
                          const FollowHandlers& handlers);

}  // namespace vigil
