// The Node's state-file view: whole (Snapshot), or in slices, so that a daemon watching a
// million peers can take it between datagrams (docs/operations.md, "Last seen").
#include <algorithm>

#include "daemon/node.h"

namespace vigil {

PersistedState Node::Snapshot(Timestamp now, bool clean_stop) const {
  PersistedState s = SnapshotHeader(now, clean_stop);
  s.peers.reserve(peers_.size() + remembered_.size());
  SnapshotSlice(std::nullopt, peers_.size(), s.peers);
  AppendRemembered(s.peers);
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
                                                 std::size_t max,
                                                 std::vector<PersistedPeer>& out) const {
  const std::size_t start = after ? FirstAfter(*after) : 0;
  const std::size_t end = std::min(peers_.size(), start + max);
  for (std::size_t i = start; i < end; ++i) out.push_back(Persist(peers_[i]));
  if (end == peers_.size()) return std::nullopt;
  return end == start ? after : peers_[end - 1].order;
}

void Node::AppendRemembered(std::vector<PersistedPeer>& out) const {
  for (const auto& [id, pp] : remembered_) out.push_back(pp);
}

PersistedPeer Node::Persist(const PeerRecord& p) const {
  PersistedPeer pp;
  pp.id = p.id;
  pp.state = std::string(PeerStateName(p.monitor.state()));
  pp.since_ms = EpochMillis(p.since_wall);
  if (p.last_heartbeat_wall) {
    pp.last_heartbeat_ms = EpochMillis(*p.last_heartbeat_wall);
  } else if (p.previous) {
    pp.last_heartbeat_ms = p.previous->last_heartbeat_ms;
  }
  pp.incarnation = p.monitor.incarnation();
  pp.sequence = p.sequence.highest();
  pp.interval_us =
      p.sender_interval_us ? p.sender_interval_us : (p.previous ? p.previous->interval_us : 0);
  pp.enrolled = p.enrolled;
  return pp;
}

}  // namespace vigil
