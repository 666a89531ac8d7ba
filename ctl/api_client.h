// A client of vigild's local API: HTTP/1.1 over the Unix socket (Boost.Beast), including
// the Server-Sent Events stream.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "base/status.h"

namespace vigil {

struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One parsed Server-Sent Event.
struct SseEvent {
  std::string id;
  std::string event = "message";
  std::string data;
};

// Incremental SSE parser (the text/event-stream format of the HTML standard, minus
// features vigild does not use). Feed it bytes as they arrive.
class SseParser {
 public:
  // Calls `on_event` for each complete event; comments and `retry:` lines are skipped, and
  // so is an event with no data (but for its id).
  void Feed(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event);
  // The standard's last event ID string: the id of the last complete event that had an
  // `id:` line, one with no data included (vigild ends a resume preamble with such an
  // event when the peers it would have carried the id went away). Empty if none yet.
  const std::string& last_event_id() const { return last_event_id_; }

 private:
  std::string line_;
  SseEvent current_;
  bool has_data_ = false;
  bool has_id_ = false;
  std::string last_event_id_;
};

// One attempt at following /v1/events.
struct StreamRequest {
  std::optional<std::string> last_event_id;  // sent as Last-Event-ID
  std::optional<std::chrono::steady_clock::time_point> deadline;
  const std::atomic<bool>* cancel = nullptr;  // noticed within a second
  // Treat the stream as lost after this long without a byte (vigild sends a keep-alive
  // every 15 s, so only a frozen or vanished daemon is this quiet). None: wait forever.
  std::optional<std::chrono::milliseconds> silence_limit;
};

struct StreamHandlers {
  // Runs once the daemon has answered 200; returning false stops right there.
  std::function<bool()> on_open;
  // Runs per event; returning false stops.
  std::function<bool(const SseEvent&)> on_event;
  // If set, runs about once a second while the stream is open, events or not (a poll of
  // what has no event); returning false stops.
  std::function<bool()> on_tick;
};

enum class StreamEnd {
  kStopped,    // a handler said stop
  kTimedOut,   // the deadline passed
  kCancelled,  // *cancel became true
  kFailed,     // could not connect, or the stream broke or was closed by the daemon
};

struct StreamOutcome {
  StreamEnd end = StreamEnd::kFailed;
  bool opened = false;  // the daemon answered 200 (on_open ran)
  // For kFailed: one line, without the "vigilctl: " prefix; IsUnavailable() when it may go
  // away by itself (vigild restarting, a connection slot freeing up).
  Status error;
  // SseParser::last_event_id at the end: what to resume after.
  std::string last_event_id;
};

class ApiClient {
 public:
  explicit ApiClient(std::string socket_path,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : path_(std::move(socket_path)), timeout_(timeout) {}

  // GET `target`: the response, whatever its status. On failure to connect or talk, a
  // Status with one line saying what went wrong and where to look; Unavailable when it may
  // go away by itself (vigild restarting).
  Result<HttpResult> Get(const std::string& target) const;

  // Follows /v1/events once: connects, sends the request, then feeds events to the
  // handlers until one says stop, the deadline passes, *cancel is set, or the stream fails.
  StreamOutcome Stream(const StreamRequest& request, const StreamHandlers& handlers) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::chrono::milliseconds timeout_;
};

}  // namespace vigil
