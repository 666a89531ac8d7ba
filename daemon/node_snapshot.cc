// The Node's state-file view: whole (Snapshot), or in slices, so that a daemon watching a
// million peers can take it between datagrams (docs/operations.md, "Last seen").
#include <algorithm>

#include "daemon/node.h"

namespace vigil {

PersistedState Node::Snapshot(Timestamp now, bool clean_stop) const {
  PersistedState s = SnapshotHeader(now, clean_stop);
  s.peers.reserve(peers_.size() + remembered_.size());
  const PeerSink keep = [&s](const PeerFields& f) { s.peers.push_back(ToPersisted(f)); };
  SnapshotSlice(std::nullopt, peers_.size(), keep);
  AppendRemembered(keep);
  return s;
}

PersistedState Node::SnapshotHeader(Timestamp now, bool clean_stop) const {
  PersistedState s;
  s.node_id = id_;
  s.incarnation = own_incarnation_;
  s.written_ms = EpochMillis(now.wall);
  s.clean_stop = clean_stop;
  s.last_event_id = std::max(event_ids_.last(), history_.previous_last);
  return s;
}

std::optional<std::uint64_t> Node::SnapshotSlice(std::optional<std::uint64_t> after,
                                                 std::size_t max, const PeerSink& sink) const {
  const std::size_t start = after ? FirstAfter(*after) : 0;
  const std::size_t end = std::min(peers_.size(), start + max);
  for (std::size_t i = start; i < end; ++i) sink(Fields(peers_[i]));
  if (end == peers_.size()) return std::nullopt;
  return end == start ? after : peers_[end - 1].order;
}

void Node::AppendRemembered(const PeerSink& sink) const {
  for (const auto& [id, pp] : remembered_) sink(FieldsOf(pp));
}

PeerFields Node::Fields(const PeerRecord& p) const {
  PeerFields f;
  f.id = p.id;
  f.state = p.monitor.state();
  f.since_ms = EpochMillis(p.since_wall);
  if (p.last_heartbeat_wall) {
    f.last_heartbeat_ms = EpochMillis(*p.last_heartbeat_wall);
  } else if (p.previous) {
    f.last_heartbeat_ms = p.previous->last_heartbeat_ms;
  }
  f.incarnation = p.monitor.incarnation();
  f.sequence = p.sequence.highest();
  f.interval_us =
      p.sender_interval_us ? p.sender_interval_us : (p.previous ? p.previous->interval_us : 0);
  f.enrolled = p.enrolled;
  return f;
}

}  // namespace vigil
