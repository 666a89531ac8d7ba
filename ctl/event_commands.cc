// vigilctl wait and vigilctl watch: the commands that follow the event stream, and keep
// following it while vigild restarts (docs/api.md, "Resuming").
#include <algorithm>
#include <ostream>
#include <vector>

#include <boost/json/parse.hpp>

#include <fmt/format.h>

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

// GETs /v1/peers/{peer}. kUnreachable when the daemon went away meanwhile (the stream will
// notice and reconnect); kError, with *error, for answers no retry changes (no such peer).
PeerRead ReadPeer(const ApiClient& client, const std::string& peer, const WaitCondition& want,
                  std::string* error) {
  const auto r = client.Get("/v1/peers/" + peer);
  if (!r) {
    *error = r.message();
    return r.status().IsUnavailable() ? PeerRead::kUnreachable : PeerRead::kError;
  }
  boost::system::error_code ec;
  const json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object()) {
    *error = fmt::format("vigild sent a response that is not JSON ({})", ec.message());
    return PeerRead::kError;
  }
  if (r->status != 200) {
    *error = Str(v.as_object(), "error");
    return r->status == 503 ? PeerRead::kUnreachable : PeerRead::kError;
  }
  return want.ReachedBy(v.as_object()) ? PeerRead::kReached : PeerRead::kNotYet;
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
  const ApiClient client(o.socket);
  const WaitCondition want(peer, state);
  bool reached = false;
  std::string problem;
  FollowOptions f;
  f.deadline = std::chrono::steady_clock::now() + timeout;
  f.notices = o.quiet ? nullptr : &err;
  FollowHandlers h;
  // Subscribed first, then read: a transition in between cannot be missed. Read again
  // after each reconnect: the peer may have got there while vigild was away.
  h.on_open = [&](bool) {
    std::string error;
    const PeerRead r = ReadPeer(client, peer, want, &error);
    reached = r == PeerRead::kReached;
    if (r == PeerRead::kError) problem = error;
    return r == PeerRead::kNotYet || r == PeerRead::kUnreachable;
  };
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
