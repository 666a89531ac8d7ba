// The Node's state-file view: whole (Snapshot), or in slices, so that a daemon watching a
// million peers can take it between datagrams (docs/operations.md, "Last seen"); and the
// way back (Restore).
#include <algorithm>
#include <cmath>
#include <limits>

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
  remembered_.Walk(0, std::numeric_limits<std::size_t>::max(), sink);
}

std::optional<std::uint64_t> Node::RememberedSlice(std::uint64_t cursor, std::size_t max,
                                                   const PeerSink& sink) const {
  return remembered_.Walk(cursor, max, sink);
}

PeerFields Node::Fields(const PeerRecord& p) const {
  PeerFields f;
  f.id = p.id;
  f.state = p.monitor.state();
  f.since_ms = EpochMillis(p.since_wall);
  if (const auto heard = p.last_heartbeat_wall()) {
    f.last_heartbeat_ms = EpochMillis(*heard);
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

void Node::Restore(const PersistedState& state, Timestamp now) {
  now_ = now;
  // A million restored peers must not regrow the table (and rehash the index) twenty times.
  restored_write_interval_ = StateWriteInterval(state.peers.size());
  const std::size_t most = peers_.size() + state.peers.size();
  peers_.reserve(most);
  by_id_.Reserve(most);  // never below ReserveIndex's
  deadlines_.Reserve(most);
  // A snapshot may meet a peer twice (tracked, then forgotten into the remembered table):
  // the later record wins, so a peer restored by this call is restored again.
  std::vector<bool> restored(most, false);
  for (const auto& pp : state.peers) {
    const auto found = Find(pp.id);
    if (!found) {
      // A listed peer no longer configured is dropped, unless enrollment would take its id:
      // then its marks must outlive it, or its recorded datagrams would enroll it again.
      if (pp.enrolled || MayEnroll(pp.id)) {
        if (const auto index = RestoreEnrolled(pp, state.clean_stop, now)) restored[*index] = true;
      }
      continue;
    }
    PeerRecord& p = peers_[*found];
    // Already heard: live data wins.
    if (!restored[*found] && p.monitor.incarnation_known()) continue;
    RestorePeer(p, pp, state.clean_stop, now);
    restored[*found] = true;
    Reschedule(*found);
  }
  history_.previous_last = state.last_event_id;
  history_.previous_clean = state.clean_stop;
  if (event_ids_.last() == history_.run_base && state.last_event_id > history_.run_base) {
    history_.run_base = state.last_event_id;
    event_ids_ = EventIdSource(history_.run_base);
  }
}

Duration Node::FreshAllowance(const PeerRecord& p, Duration interval, MonoTime at) {
  // The same for every enrolled peer of one interval (they share the `detector:` defaults):
  // a million restored peers need not build a million detectors to learn it.
  if (p.enrolled && fresh_allowance_ && fresh_allowance_->first == interval) {
    return fresh_allowance_->second;
  }
  auto fresh = MakeDetector(*p.detector_options, interval);
  fresh->Heartbeat(at, 0);
  const auto crossing = fresh->CrossingTime(fresh->threshold());
  const Duration allowance =
      crossing ? *crossing - at : 10 * std::max(interval, heartbeat_interval_);
  if (p.enrolled) fresh_allowance_.emplace(interval, allowance);
  return allowance;
}

Duration Node::IntervalOf(const PersistedPeer& pp) const {
  return pp.interval_us ? Duration(std::chrono::microseconds(pp.interval_us))
                        : heartbeat_interval_;
}

std::uint64_t Node::ReplayMargin(const PersistedPeer& pp, bool clean_stop,
                                 bool echo_required) const {
  // After a kill, the file may be StateWriteInterval old: the peer may have sent that many
  // more rounds, all accepted then and replayable now. Skip them, and a little more.
  // With echoes required none of them would be accepted anyway (they echo the previous
  // run's incarnation), so no margin: the peer is heard again as soon as it hears us. An
  // enrolled peer is never asked for an echo, so it always gets the margin.
  const Duration interval = IntervalOf(pp);
  if (clean_stop || echo_required || interval <= Duration::zero()) return 0;
  return static_cast<std::uint64_t>(
             std::ceil(1.25 * ToMillis(restored_write_interval_) / ToMillis(interval))) + 4;
}

void Node::RestorePeer(PeerRecord& p, const PersistedPeer& pp, bool clean_stop,
                       Timestamp now) {
  p.previous = std::make_unique<PersistedPeer>(pp);
  p.since_wall = WallTime(std::chrono::milliseconds(pp.since_ms));
  const Duration interval = IntervalOf(pp);
  const std::uint64_t margin = ReplayMargin(pp, clean_stop, !p.enrolled && require_echo_);
  if (pp.sequence > 0) p.sequence.RaiseFloor(pp.sequence + margin);
  // A restored up peer must be heard again (past the margin and, with echoes, a round
  // trip) within what a fresh detector would allow, or it is down.
  const Duration slowest = std::max(interval, heartbeat_interval_);
  const MonoTime bound = now.mono + FreshAllowance(p, interval, now.mono);
  const auto rounds = static_cast<Duration::rep>(margin + 2);
  // No transition is emitted for a restored state, so the count moves here. (A peer not yet
  // in the table, restored during a reload, is recounted by Reindex.)
  --state_counts_[static_cast<std::size_t>(p.monitor.state())];
  p.monitor.Restore(ParsePeerState(pp.state).value_or(PeerState::kUnknown), pp.incarnation,
                    bound + rounds * slowest);
  ++state_counts_[static_cast<std::size_t>(p.monitor.state())];
}

}  // namespace vigil
