#include "ctl/event_follow.h"

#include <algorithm>
#include <ostream>
#include <thread>

#include <fmt/format.h>

namespace vigil {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// vigild sends a keep-alive every 15 s: four missed ones mean it is frozen or gone.
constexpr milliseconds kSilenceLimit = std::chrono::seconds(60);

std::string Seconds(milliseconds d) {
  return fmt::format("{:.1f} s", static_cast<double>(d.count()) / 1000.0);
}

milliseconds Since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t);
}

}  // namespace

milliseconds Backoff::Next() {
  const milliseconds d = next_;
  next_ = std::min(next_ * 2, max_);
  return d;
}

FollowResult FollowEvents(const ApiClient& client, const FollowOptions& options,
                          const FollowHandlers& handlers) {
  FollowResult result;
  std::string last_id = options.last_event_id;
  Backoff backoff = options.backoff;
  bool ever_opened = false;
  std::optional<Clock::time_point> outage_since;
  auto notice = [&](const std::string& line) {
    if (options.notices) *options.notices << "vigilctl: " << line << std::endl;
  };
  StreamHandlers stream_handlers;
  stream_handlers.on_open = [&] {
    const bool reconnected = ever_opened;
    ever_opened = true;
    if (outage_since) {
      notice(fmt::format("reconnected to vigild on {} after {}", client.path(),
                         Seconds(Since(*outage_since))));
      outage_since.reset();
      result.outage.reset();
      backoff.Reset();
    }
    return handlers.on_open(reconnected);
  };
  stream_handlers.on_event = handlers.on_event;
  stream_handlers.on_tick = handlers.on_tick;
  while (true) {
    StreamRequest request;
    if (!last_id.empty()) request.last_event_id = last_id;
    request.deadline = options.deadline;
    request.silence_limit = kSilenceLimit;
    const StreamOutcome out = client.Stream(request, stream_handlers);
    // What to resume after: the stream's last event ID (an event with no data included).
    if (!out.last_event_id.empty()) last_id = out.last_event_id;
    if (outage_since) result.outage = Since(*outage_since);
    if (out.end == StreamEnd::kStopped || out.end == StreamEnd::kCancelled) {
      result.end = FollowEnd::kStopped;
      return result;
    }
    if (out.end == StreamEnd::kTimedOut) {
      result.end = FollowEnd::kTimedOut;
      return result;
    }
    result.error = out.error.message();
    if (!ever_opened || !out.error.IsUnavailable()) {
      result.end = FollowEnd::kFailed;
      return result;
    }
    if (!outage_since) {
      // One line per outage: the retries that follow are silent until it is back.
      outage_since = Clock::now();
      result.outage = milliseconds(0);
      notice(out.error.message() + " (vigild restarting?); reconnecting...");
    }
    if (options.max_outage && Since(*outage_since) >= *options.max_outage) {
      result.end = FollowEnd::kGaveUp;
      return result;
    }
    milliseconds delay = backoff.Next();
    if (options.deadline) {
      const auto left = std::chrono::duration_cast<milliseconds>(*options.deadline - Clock::now());
      if (left.count() <= 0) {
        result.end = FollowEnd::kTimedOut;
        return result;
      }
      delay = std::min(delay, left);
    }
    if (options.max_outage) {
      delay = std::min(delay, *options.max_outage - Since(*outage_since));
    }
    std::this_thread::sleep_for(std::max(delay, milliseconds(0)));
  }
}

}  // namespace vigil
