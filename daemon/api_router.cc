#include "daemon/api_router.h"

#include <boost/json/serialize.hpp>

#include <charconv>

#include <fmt/format.h>

#include "daemon/event_resume.h"

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

  enum class Resource { kPeers, kPeer, kSelf, kHealth, kMetrics, kEvents, kNone };
  Resource resource = Resource::kNone;
  std::string_view peer_id;
  if (path == "/v1/peers" || path == "/v1/peers/") {
    resource = Resource::kPeers;
  } else if (path.starts_with("/v1/peers/")) {
    resource = Resource::kPeer;
    peer_id = path.substr(10);
  } else if (path == "/v1/self") {
    resource = Resource::kSelf;
  } else if (path == "/v1/health") {
    resource = Resource::kHealth;
  } else if (path == "/metrics") {
    resource = Resource::kMetrics;
  } else if (path == "/v1/events") {
    resource = Resource::kEvents;
  }
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
      return Json(PeersJson(ctx.node, ctx.now));
    case Resource::kPeer: {
      const auto index = ctx.node.Find(peer_id);
      if (!index) return ErrorResponse(404, fmt::format("no peer with id '{}'", peer_id));
      return Json(PeerJson(ctx.node.peers()[*index], ctx.now));
    }
    case Resource::kSelf: {
      auto o = SelfJson(ctx.node, ctx.self, ctx.now);
      if (ctx.health) o["local_health"] = LocalHealthJson(*ctx.health, ctx.now);
      if (ctx.send_load) o["send"] = SendLoadJson(*ctx.send_load, ctx.now);
      return Json(o);
    }
    case Resource::kHealth: {
      boost::json::object o;
      // "degraded" (convictions held: this daemon was not observing) outranks
      // "overloaded" (it observes, and judges, but its own heartbeats leave late).
      const bool degraded = ctx.health && ctx.health->Degraded(ctx.now.mono);
      const bool overloaded = ctx.send_load && ctx.send_load->Overloaded(ctx.now.mono);
      o["status"] = degraded ? "degraded" : overloaded ? "overloaded" : "ok";
      o["id"] = ctx.self.id;
      return Json(o);
    }
    case Resource::kMetrics: {
      ApiResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = RenderMetrics(ctx.node, ctx.counters, ctx.self, ctx.now, ctx.health,
                             ctx.send_load);
      return r;
    }
    case Resource::kEvents: {
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
        r.sse_preamble = ResumePreamble(ctx.node, *r.resume_after, ctx.now);
      }
      return r;
    }
    case Resource::kNone:
      break;
  }
  return ErrorResponse(404, "not found");
}

}  // namespace vigil
