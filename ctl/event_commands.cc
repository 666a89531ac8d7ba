// vigilctl wait and vigilctl watch: the commands that follow the event stream, and keep
// following it while vigild restarts (docs/api.md, "Resuming").
#include <algorithm>
#include <ostream>
#include <vector>

#include <boost/json/parse.hpp>

#include <fmt/format.h>

#include "base/value_text.h"
#include "ctl/commands.h"
#include "ctl/event_follow.h"
#include "ctl/event_view.h"
#include "ctl/json_fields.h"

namespace vigil {

namespace json = boost::json;

namespace {

std::string Seconds(std::chrono::milliseconds d) {
  return fmt::format("{:.1f} s", static_cast<double>(d.count()) / 1000.0);
}

// What reading the peer's current state found.
enum class PeerRead { kReached, kNotYet, kUnreachable, kError };

// Parses an answer of vigild as a JSON object; kError, with *error, if it is not one.
std::optional<json::object> ObjectOf(const HttpResult& r, std::string* error) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) {
    *error = fmt::format("vigild sent a response that is not JSON ({})", ec.message());
    return std::nullopt;
  }
  return std::move(v.as_object());
}

// A cluster member in this node's view (GET /v1/members): one that is not there is
// `unknown` (it may join yet). On a node that is not a member, the peer's *not_a_peer.
PeerRead ReadMember(const ApiClient& client, const std::string& id, const WaitCondition& want,
                    const std::string& not_a_peer, std::string* error) {
  const auto r = client.Get("/v1/members?limit=1&prefix=" + id);
  if (!r) {
    *error = r.message();
    return r.status().IsUnavailable() ? PeerRead::kUnreachable : PeerRead::kError;
  }
  const auto o = ObjectOf(*r, error);
  if (!o) return PeerRead::kError;
  if (r->status != 200) {
    *error = r->status == 404 ? not_a_peer : Str(*o, "error");
    return r->status == 503 ? PeerRead::kUnreachable : PeerRead::kError;
  }
  if (want.state() == "suspect") {
    *error = "a member's suspicion has no event to wait for (docs/api.md); see vigilctl "
             "members --state suspect";
    return PeerRead::kError;
  }
  // limit=1: the first id with that prefix, which is the id itself if it is held.
  const auto* list = o->if_contains("list");
  const json::value* first =
      list && list->is_array() && !list->as_array().empty() ? &list->as_array()[0] : nullptr;
  if (first && first->is_object() && Str(first->as_object(), "id") == id) {
    return want.ReachedBy(first->as_object()) ? PeerRead::kReached : PeerRead::kNotYet;
  }
  return want.state() == "unknown" ? PeerRead::kReached : PeerRead::kNotYet;
}

// GETs /v1/peers/{peer}, or on a cluster member the member of that id. kUnreachable when
// the daemon went away meanwhile (the stream will notice and reconnect); kError, with
// *error, for answers no retry changes (no such peer on a node that is not a member).
PeerRead ReadPeer(const ApiClient& client, const std::string& peer, const WaitCondition& want,
                  bool* member, std::string* error) {
  const auto r = client.Get("/v1/peers/" + peer);
  if (!r) {
    *error = r.message();
    return r.status().IsUnavailable() ? PeerRead::kUnreachable : PeerRead::kError;
  }
  const auto o = ObjectOf(*r, error);
  if (!o) return PeerRead::kError;
  if (r->status == 404) {
    const PeerRead m = ReadMember(client, peer, want, Str(*o, "error"), error);
    if (m != PeerRead::kError && m != PeerRead::kUnreachable) *member = true;
    return m;
  }
  if (r->status != 200) {
    *error = Str(*o, "error");
    return r->status == 503 ? PeerRead::kUnreachable : PeerRead::kError;
  }
  return want.ReachedBy(*o) ? PeerRead::kReached : PeerRead::kNotYet;
}

// The id of the newest event vigild has now (0 if none), so watch can resume after it.
std::optional<std::string> NewestEventId(const ApiClient& client, std::string* error) {
  const auto r = client.Get("/v1/self");
  if (!r) {
    *error = r.message();
    return std::nullopt;
  }
  boost::system::error_code ec;
  const json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object() || r->status != 200) {
    *error = fmt::format("vigild answered {} to /v1/self", r->status);
    return std::nullopt;
  }
  return std::to_string(std::max<std::int64_t>(0, Int(v.as_object(), "last_event_id", 0)));
}

}  // namespace

int CmdWait(const CtlOptions& o, const std::string& peer, const std::string& state,
            std::chrono::milliseconds timeout, std::ostream& out, std::ostream& err) {
  static const std::vector<std::string> kStates = {"unknown", "up", "suspect", "down", "left"};
  if (std::find(kStates.begin(), kStates.end(), state) == kStates.end()) {
    err << "vigilctl: --state must be one of unknown, up, suspect, down, left\n";
    return kExitError;
  }
  if (peer.empty() || peer.size() > 64 || !IsIdText(peer)) {
    err << "vigilctl: '" << peer << "' is not an id (1 to 64 of A-Za-z0-9._-)\n";
    return kExitError;
  }
  const ApiClient client(o.socket);
  const WaitCondition want(peer, state);
  bool reached = false;
  bool member = false;
  std::string problem;
  FollowOptions f;
  f.deadline = std::chrono::steady_clock::now() + timeout;
  f.notices = o.quiet ? nullptr : &err;
  FollowHandlers h;
  // Subscribed first, then read: a transition in between cannot be missed. Read again
  // after each reconnect: the peer may have got there while vigild was away.
  h.on_open = [&](bool) {
    std::string error;
    const PeerRead r = ReadPeer(client, peer, want, &member, &error);
    reached = r == PeerRead::kReached;
    if (r == PeerRead::kError) problem = error;
    return r == PeerRead::kNotYet || r == PeerRead::kUnreachable;
  };
  // A member's view changes without events too (a suspicion cleared, the list copied on
  // joining, a late leave, a tombstone forgotten): read it again every second.
  h.on_tick = [&] { return !member || h.on_open(true); };
  h.on_event = [&](const SseEvent& e) {
    reached = want.ReachedBy(e);
    return !reached;
  };
  const FollowResult r = FollowEvents(client, f, h);
  if (reached) {
    if (!o.quiet) out << peer << " is " << state << "\n";
    return kExitOk;
  }
  if (r.end == FollowEnd::kFailed || (r.end == FollowEnd::kStopped && !problem.empty())) {
    err << "vigilctl: " << (problem.empty() ? r.error : problem) << "\n";
    return kExitError;
  }
  err << "vigilctl: timed out after " << timeout.count() << " ms waiting for " << peer
      << " to be " << state;
  if (r.outage) {
    err << " (vigild on " << o.socket << " unreachable for the last " << Seconds(*r.outage)
        << ": " << r.error << ")";
  }
  err << "\n";
  return kExitNo;
}

int CmdWatch(const CtlOptions& o, std::optional<std::string> last_event_id,
             std::optional<std::chrono::milliseconds> max_outage, std::ostream& out,
             std::ostream& err) {
  const ApiClient client(o.socket);
  if (!last_event_id) {
    // Resuming after the newest event from the start replays whatever happens between this
    // read and the subscription, and gives a reconnect an id to resume from even if no
    // event arrived before vigild restarted.
    std::string error;
    last_event_id = NewestEventId(client, &error);
    if (!last_event_id) {
      err << "vigilctl: " << error << "\n";
      return kExitError;
    }
  }
  FollowOptions f;
  f.last_event_id = *last_event_id;
  f.max_outage = max_outage;
  f.notices = o.quiet ? nullptr : &err;
  FollowHandlers h;
  h.on_open = [](bool) { return true; };
  h.on_event = [&](const SseEvent& e) {
    const auto line = o.json ? WatchJson(e) : WatchText(e);
    if (line) out << *line << std::endl;  // flushed: watch is read live, often through a pipe
    return true;
  };
  const FollowResult r = FollowEvents(client, f, h);
  if (r.end == FollowEnd::kGaveUp) {
    err << "vigilctl: gave up: vigild on " << o.socket << " unreachable for "
        << Seconds(r.outage.value_or(std::chrono::milliseconds(0))) << " (--timeout): "
        << r.error << "\n";
    return kExitError;
  }
  if (r.end == FollowEnd::kFailed) {
    err << "vigilctl: " << r.error << "\n";
    return kExitError;
  }
  return kExitOk;
}

}  // namespace vigil
