#include "daemon/event_resume.h"

#include <fmt/format.h>

#include "daemon/api_json.h"

namespace vigil {

namespace json = boost::json;

const char* GapReasonName(GapReason reason) {
  switch (reason) {
    case GapReason::kNone:
      return "none";
    case GapReason::kEvicted:
      return "evicted";
    case GapReason::kRestart:
      return "restart";
    case GapReason::kUnknown:
      return "unknown";
  }
  return "unknown";
}

GapReason ResumeGap(const Node& node, std::uint64_t last_id) {
  const Node::EventHistory& h = node.event_history();
  bool evicted = false;
  if (last_id == 0) {
    node.events().After(0, &evicted);
    return evicted ? GapReason::kEvicted : GapReason::kNone;
  }
  if (last_id > node.last_event_id()) return GapReason::kUnknown;
  if (last_id <= h.run_base) {
    // From an earlier run. Only the very last event of a run that stopped cleanly (its
    // file written after everything it emitted) proves nothing was missed in between.
    if (!(h.previous_clean && last_id == h.previous_last)) return GapReason::kRestart;
  }
  node.events().After(last_id, &evicted);
  return evicted ? GapReason::kEvicted : GapReason::kNone;
}

std::string FormatSseEvent(const EventRecord& event) {
  return fmt::format("id: {}\nevent: transition\ndata: {}\n\n", event.id,
                     ToJsonText(EventJson(event)));
}

std::string ResumePreamble(const Node& node, std::uint64_t last_id, Timestamp now) {
  const GapReason gap = ResumeGap(node, last_id);
  std::string out;
  if (gap == GapReason::kNone) {
    bool evicted = false;
    for (const auto& e : node.events().After(last_id, &evicted)) out += FormatSseEvent(e);
    return out;
  }
  json::object g;
  g["after"] = last_id;
  g["reason"] = GapReasonName(gap);
  g["last_id"] = node.last_event_id();
  out += fmt::format("id: {}\nevent: gap\ndata: {}\n\n", node.last_event_id(), ToJsonText(g));
  for (const auto& p : node.peers()) {
    json::object s;
    s["peer"] = p.id;
    s["state"] = PeerStateName(p.monitor.state());
    s["since"] = EpochMillis(p.since_wall);
    s["incarnation"] = p.monitor.incarnation();
    const json::object full = PeerJson(p, now);
    s["last_heartbeat"] = full.at("last_heartbeat");
    out += fmt::format("event: state\ndata: {}\n\n", ToJsonText(s));
  }
  return out;
}

}  // namespace vigil
