#include "ctl/event_view.h"

#include <boost/json/parse.hpp>

#include <fmt/format.h>

#include "ctl/format.h"
#include "ctl/json_fields.h"
#include "json/json_text.h"

namespace vigil {

namespace json = boost::json;

namespace {

std::optional<json::object> ParseObject(const std::string& data) {
  boost::system::error_code ec;
  json::value v = json::parse(data, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

}  // namespace

std::string TransitionLine(const json::object& e) {
  return fmt::format("{}  #{}  {}  {} -> {}  ({}, phi {})", FormatLocalTime(Int(e, "time")),
                     Str(e, "id"), Str(e, "peer"), Str(e, "from"), Str(e, "to"), Str(e, "reason"),
                     Str(e, "phi"));
}

std::string MemberLine(const json::object& e) {
  std::string why = Str(e, "reason");
  if (Int(e, "observers") >= 0) why += " " + Str(e, "reports") + "/" + Str(e, "observers");
  return fmt::format("{}  #{}  member {}  {} -> {}  ({}, incarnation {})",
                     FormatLocalTime(Int(e, "time")), Str(e, "id"), Str(e, "member"),
                     Str(e, "from"), Str(e, "to"), why, Str(e, "incarnation"));
}

std::string GapLine(const json::object& gap) {
  const std::string after = Str(gap, "after");
  const std::string reason = Str(gap, "reason");
  if (reason == "restart") {
    return fmt::format("gap: vigild restarted and does not keep the events of its previous run "
                       "after #{}; current state of every peer follows",
                       after);
  }
  if (reason == "evicted") {
    return fmt::format("gap: some events after #{} were already dropped from vigild's ring "
                       "(events.ring_size); current state of every peer follows",
                       after);
  }
  if (reason == "unknown") {
    return fmt::format("gap: vigild never issued event #{} (another daemon on this socket?); "
                       "current state of every peer follows",
                       after);
  }
  // An older vigild: a bare gap, no state events after it.
  return fmt::format("gap: some events after #{} were missed; 'vigilctl status' shows the "
                     "current state",
                     after);
}

std::string StateLine(const json::object& s) {
  const std::int64_t since = Int(s, "since");
  const std::int64_t heard = Int(s, "last_heartbeat");
  return fmt::format("{}  state  {}  {}  (since {}; last heartbeat {}; incarnation {})",
                     since < 0 ? "-" : FormatLocalTime(since), Str(s, "peer"), Str(s, "state"),
                     since < 0 ? "-" : AgoFromNow(since), heard < 0 ? "never" : AgoFromNow(heard),
                     Str(s, "incarnation"));
}

std::optional<std::string> WatchText(const SseEvent& e) {
  const auto o = ParseObject(e.data);
  if (!o) return std::nullopt;
  if (e.event == "gap") return GapLine(*o);
  if (e.event == "state") return StateLine(*o);
  if (e.event == "member") return MemberLine(*o);
  return TransitionLine(*o);
}

std::optional<std::string> WatchJson(const SseEvent& e) {
  if (e.event != "gap" && e.event != "state" && e.event != "member") return e.data;
  auto o = ParseObject(e.data);
  if (!o) return std::nullopt;
  json::object tagged;
  tagged["event"] = e.event;
  for (const auto& kv : *o) tagged[kv.key()] = kv.value();
  return ToJsonText(tagged);
}

bool WaitCondition::ReachedBy(const SseEvent& e) const {
  const auto o = ParseObject(e.data);
  if (!o) return false;
  if (e.event == "member") return Str(*o, "member") == peer_ && Str(*o, "to") == state_;
  if (Str(*o, "peer") != peer_) return false;
  if (e.event == "state") return Str(*o, "state") == state_;
  if (e.event == "gap") return false;
  return Str(*o, "to") == state_;
}

bool WaitCondition::ReachedBy(const json::object& peer) const {
  return Str(peer, "state") == state_;
}

}  // namespace vigil
