// A client of vigild's local API: HTTP/1.1 over the Unix socket (Boost.Beast), including
// the Server-Sent Events stream.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

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
  // Calls `on_event` for each complete event; comments and `retry:` lines are skipped.
  void Feed(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event);

 private:
  std::string line_;
  SseEvent current_;
  bool has_data_ = false;
};

class ApiClient {
 public:
  explicit ApiClient(std::string socket_path,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : path_(std::move(socket_path)), timeout_(timeout) {}

  // GET `target`. On failure to connect or talk, returns nullopt and sets *error to one
  // line saying what went wrong ("no vigild listening on /run/vigil/vigil.sock: ...").
  std::optional<HttpResult> Get(const std::string& target, std::string* error) const;

  // Streams /v1/events (after `last_event_id` if given). `on_event` returns false to stop.
  // `on_open` runs once the stream is established; returning false stops right there (the
  // caller already has what it waited for). Stops at `deadline` if set, or within
  // a second of *cancel becoming true. Returns false and sets *error on failure; true when
  // stopped by on_event, the deadline or cancel (*timed_out is set for the deadline).
  bool StreamEvents(std::optional<std::string> last_event_id,
                    const std::function<bool()>& on_open,
                    const std::function<bool(const SseEvent&)>& on_event,
                    std::optional<std::chrono::steady_clock::time_point> deadline,
                    bool* timed_out, std::string* error,
                    const std::atomic<bool>* cancel = nullptr) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::chrono::milliseconds timeout_;
};

}  // namespace vigil
