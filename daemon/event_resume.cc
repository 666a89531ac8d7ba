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
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", event.id,
                     event.member ? "member" : "transition", ToJsonText(EventJson(event)));
}

ResumePreambleWriter::ResumePreambleWriter(const Node& node, std::uint64_t last_id)
    : gap_(ResumeGap(node, last_id)), last_id_(last_id) {}

bool ResumePreambleWriter::WriteNext(const Node& node, std::string& out,
                                     std::size_t max_bytes, std::size_t max_peers) {
  if (done_) return true;
  if (gap_ == GapReason::kNone) {
    bool evicted = false;
    for (const auto& e : node.events().After(last_id_, &evicted)) out += FormatSseEvent(e);
    done_ = true;
    return true;
  }
  const auto& table = node.peers();
  if (!started_) {
    started_ = true;
    gap_id_ = node.last_event_id();
    generation_ = node.reconfigurations();
    json::object g;
    g["after"] = last_id_;
    g["reason"] = GapReasonName(gap_);
    g["last_id"] = gap_id_;
    // The id goes with the last state (IdLine), so a client that drops before it has every
    // state resumes from its old id and gets them all again; with no peer, with the gap.
    out += fmt::format("{}event: gap\ndata: {}\n\n", table.empty() ? IdLine() : "",
                       ToJsonText(g));
    if (table.empty()) {
      id_sent_ = true;
      return done_ = true;
    }
  }
  if (generation_ != node.reconfigurations()) {
    // A reload renumbered the listed peers: the cursor no longer says who was sent. Start
    // over; a state sent twice only says the same again.
    generation_ = node.reconfigurations();
    resume_after_.reset();
  }
  std::size_t i = resume_after_ ? node.FirstAfter(*resume_after_) : 0;
  const std::size_t start_size = out.size();
  for (std::size_t n = 0; i < table.size() && n < max_peers; ++i, ++n) {
    if (n > 0 && out.size() - start_size >= max_bytes) break;
    AppendState(table[i], i + 1 == table.size(), out);
    resume_after_ = table[i].order;
  }
  done_ = i >= table.size();
  if (done_ && !id_sent_) {
    // The last peers went away between pieces: the id goes with the last one there is.
    if (!table.empty()) {
      AppendState(table[table.size() - 1], true, out);
    } else {
      out += IdLine() + "\n";
    }
  }
  return done_;
}

void ResumePreambleWriter::AppendState(const PeerRecord& p, bool last, std::string& out) {
  json::object s;
  s["peer"] = p.id;
  s["state"] = PeerStateName(p.monitor.state());
  s["since"] = EpochMillis(p.since_wall);
  s["incarnation"] = p.monitor.incarnation();
  const auto heard = LastHeartbeatMillis(p);
  s["last_heartbeat"] = heard ? json::value(*heard) : json::value(nullptr);
  out += fmt::format("{}event: state\ndata: {}\n\n", last ? IdLine() : "", ToJsonText(s));
  id_sent_ = id_sent_ || last;
}

std::string ResumePreambleWriter::IdLine() const { return fmt::format("id: {}\n", gap_id_); }

std::string ResumePreamble(const Node& node, std::uint64_t last_id) {
  ResumePreambleWriter writer(node, last_id);
  std::string out;
  while (!writer.WriteNext(node, out)) {
  }
  return out;
}

}  // namespace vigil
