#include "daemon/api_router.h"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <memory>

#include <fmt/format.h>

#include "daemon/event_resume.h"
#include "daemon/peer_page.h"

namespace vigil {
namespace {

std::optional<std::uint64_t> ParseId(std::string_view s) {
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// The value of `key` in a query string "a=1&b=2", if present.
std::optional<std::string_view> QueryValue(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

ApiResponse Json(const boost::json::object& o, int status = 200) {
  ApiResponse r;
  r.status = status;
  r.body = ToJsonText(o);
  r.body += '\n';
  return r;
}

// The resources of the API; kNone for a path that names none.
enum class Resource {
  kPeers,
  kPeer,
  kSummary,
  kSelf,
  kHealth,
  kMetrics,
  kEvents,
  kMembers,
  kNone
};

// Which resource `path` names; for kPeer, sets `peer_id` to the id after "/v1/peers/".
Resource ResourceOf(std::string_view path, std::string_view& peer_id) {
  if (path == "/v1/peers" || path == "/v1/peers/") return Resource::kPeers;
  if (path.starts_with("/v1/peers/")) {
    peer_id = path.substr(10);
    return Resource::kPeer;
  }
  if (path == "/v1/summary") return Resource::kSummary;
  if (path == "/v1/self") return Resource::kSelf;
  if (path == "/v1/health") return Resource::kHealth;
  if (path == "/metrics") return Resource::kMetrics;
  if (path == "/v1/events") return Resource::kEvents;
  if (path == "/v1/members") return Resource::kMembers;
  return Resource::kNone;
}

// GET /v1/peers/ID: that peer, or 404 if no peer has the id.
ApiResponse PeerResponse(std::string_view peer_id, const ApiContext& ctx) {
  if (const auto index = ctx.node.Find(peer_id)) {
    return Json(PeerJson(ctx.node.peers()[*index], ctx.now));
  }
  if (const auto remembered = ctx.node.FindRemembered(peer_id)) {
    return Json(RememberedPeerJson(*remembered, ctx.now));
  }
  return ErrorResponse(404, fmt::format("no peer with id '{}'", peer_id));
}

// GET /v1/peers[?state=&prefix=&not_seen_since=&limit=&cursor=]; 400 for a bad parameter.
// The body is streamed: written a piece at a time as the client takes it.
ApiResponse PeersResponse(std::string_view query, const ApiContext& ctx) {
  const auto parsed = ParsePeerQuery(query);
  if (!parsed) return ErrorResponse(400, parsed.message());
  ApiResponse r;
  auto writer = std::make_shared<PeerListWriter>(*parsed);
  r.next_piece = [writer, &node = ctx.node, clock = ctx.clock,
                  now = ctx.now](std::string& out) {
    return writer->WriteNext(node, clock ? clock() : now, out);
  };
  return r;
}

// GET /v1/self: this daemon, with its local health and send pacing when those run.
ApiResponse SelfResponse(const ApiContext& ctx) {
  auto o = SelfJson(ctx.node, ctx.self, ctx.now);
  if (ctx.health) o["local_health"] = LocalHealthJson(*ctx.health, ctx.now);
  if (ctx.send_load) o["send"] = SendLoadJson(*ctx.send_load, ctx.now);
  if (ctx.cluster) o["cluster"] = ctx.cluster();
  return Json(o);
}

// GET /v1/summary: the peers' counts, and the cluster's on a member.
ApiResponse SummaryResponse(const ApiContext& ctx) {
  auto o = SummaryJson(ctx.node);
  if (ctx.cluster) o["cluster"] = ctx.cluster();
  return Json(o);
}

// GET /v1/members: 404 on a node that is not a cluster member.
ApiResponse MembersResponse(std::string_view query, const ApiContext& ctx) {
  if (!ctx.members) {
    return ErrorResponse(404, "this node is not a cluster member: cluster.seeds is not set "
                              "(docs/membership.md)");
  }
  return ctx.members(query);
}
// GET /v1/health: "ok", "overloaded" or "degraded", and this daemon's id.
ApiResponse HealthResponse(const ApiContext& ctx) {
  boost::json::object o;
  // "degraded" (convictions held: this daemon was not observing) outranks
  // "overloaded" (it observes, and judges, but its own heartbeats leave late).
  const bool degraded = ctx.health && ctx.health->Degraded(ctx.now.mono);
  const bool overloaded = ctx.send_load && ctx.send_load->Overloaded(ctx.now.mono);
  o["status"] = degraded ? "degraded" : overloaded ? "overloaded" : "ok";
  o["id"] = ctx.self.id;
  return Json(o);
}

// GET /metrics: the Prometheus text exposition.
ApiResponse MetricsResponse(const ApiContext& ctx) {
  ApiResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = RenderMetrics(ctx.node, ctx.counters, ctx.self, ctx.now, ctx.health,
                         ctx.send_load, ctx.peer_series_limit);
  if (ctx.cluster_metrics) r.body += ctx.cluster_metrics();
  return r;
}

// GET /v1/events: Server-Sent Events, first replaying what followed Last-Event-ID (or
// ?last_event_id=) if given; 400 if that id is not a whole number.
ApiResponse EventsResponse(std::string_view query, std::optional<std::string_view> last_event_id,
                           const ApiContext& ctx) {
  ApiResponse r;
  r.stream_events = true;
  r.content_type = "text/event-stream";
  std::optional<std::string_view> from = last_event_id;
  if (!from) from = QueryValue(query, "last_event_id");
  if (from) {
    r.resume_after = ParseId(*from);
    if (!r.resume_after) {
      return ErrorResponse(400, fmt::format("Last-Event-ID must be a whole number, found '{}'",
                                            *from));
    }
    // The replay, or the gap, now; the peers' states as the client takes them
    // (ApiServer::PumpEvents), in pieces that fit api.sse_buffer.
    auto writer = std::make_shared<ResumePreambleWriter>(ctx.node, *r.resume_after);
    if (!writer->WriteNext(ctx.node, r.sse_preamble, SIZE_MAX, 0)) {
      r.sse_more = [writer, &node = ctx.node](std::string& out, std::size_t max_bytes) {
        return writer->WriteNext(node, out, max_bytes);
      };
    }
  }
  return r;
}

}  // namespace

ApiResponse ErrorResponse(int status, std::string_view message) {
  return Json(ErrorJson(status, message), status);
}

ApiResponse Route(std::string_view method, std::string_view target,
                  std::optional<std::string_view> last_event_id, const ApiContext& ctx) {
  const auto qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  const std::string_view query =
      qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);

  std::string_view peer_id;
  const Resource resource = ResourceOf(path, peer_id);
  if (resource == Resource::kNone) {
    return ErrorResponse(404, fmt::format("no such resource: {} (see docs/api.md)", path));
  }
  if (method != "GET") {
    ApiResponse r = ErrorResponse(405, fmt::format("method {} not allowed; use GET", method));
    r.allow = "GET";
    return r;
  }

  switch (resource) {
    case Resource::kPeers:
      return PeersResponse(query, ctx);
    case Resource::kPeer:
      return PeerResponse(peer_id, ctx);
    case Resource::kSummary:
      return SummaryResponse(ctx);
    case Resource::kSelf:
      return SelfResponse(ctx);
    case Resource::kHealth:
      return HealthResponse(ctx);
    case Resource::kMetrics:
      return MetricsResponse(ctx);
    case Resource::kEvents:
      return EventsResponse(query, last_event_id, ctx);
    case Resource::kMembers:
      return MembersResponse(query, ctx);
    case Resource::kNone:
      break;
  }
  return ErrorResponse(404, "not found");
}

}  // namespace vigil
