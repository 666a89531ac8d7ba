// Maps an API request to its response. Pure: no sockets, so every route is unit-testable.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/api_json.h"
#include "daemon/local_health.h"
#include "daemon/metrics.h"
#include "daemon/node.h"

namespace vigil {

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;  // for 405: the methods the resource supports
  // Set for GET /v1/events: the server switches to Server-Sent Events, replaying the ring
  // after this id first (nullopt: only new events).
  bool stream_events = false;
  std::optional<std::uint64_t> resume_after;
  // Sent first: the replay, or a gap and the current states. `sse_preamble` is its first
  // piece; then, if set, each call of `sse_more` appends the next, at most about `max_bytes`,
  // and returns true once the preamble is complete (the rest of the contract of next_piece).
  std::string sse_preamble;
  std::function<bool(std::string& out, std::size_t max_bytes)> sse_more;
  // Set for a body written in pieces (GET /v1/peers), then `body` is empty: each call
  // appends the next piece to its argument and returns true once the body is complete. It
  // reads the Node given to Route, which must outlive it; call it on the loop's thread.
  std::function<bool(std::string& out)> next_piece;
};

struct ApiContext {
  const Node& node;
  const DaemonCounters& counters;
  const SelfInfo& self;
  Timestamp now;
  const LocalHealth* health = nullptr;  // the local-health guard, if running
  const SendLoad* send_load = nullptr;  // the pacing of our own heartbeats, if running
  // The time for each later piece of a streamed body; `now` throughout if empty (tests).
  std::function<Timestamp()> clock = nullptr;
  // metrics.peer_series_limit.
  std::size_t peer_series_limit = MetricsConfig{}.peer_series_limit;
  // A cluster member's (cluster.seeds), empty when this node is not a member: GET
  // /v1/members for a query string (MembersResponse, daemon/member_page.h), the cluster
  // object of /v1/self and /v1/summary, and its part of /metrics.
  std::function<ApiResponse(std::string_view query)> members = nullptr;
  std::function<boost::json::object()> cluster = nullptr;
  std::function<std::string()> cluster_metrics = nullptr;
};

// `last_event_id` is the Last-Event-ID header, if any (it wins over ?last_event_id=).
ApiResponse Route(std::string_view method, std::string_view target,
                  std::optional<std::string_view> last_event_id, const ApiContext& ctx);

// A JSON error response ({"status": 404, "error": "..."}).
ApiResponse ErrorResponse(int status, std::string_view message);

}  // namespace vigil
