#include "daemon/node.h"

#include <algorithm>
#include <cmath>

namespace vigil {

PeerRecord::PeerRecord(PeerIndex index, const PeerConfig& config, Duration heartbeat_interval)
    : id(config.id),
      address(config.address),
      detector_options(config.detector),
      monitor(index, MakeDetector(config.detector, heartbeat_interval),
              MonitorOptions{SuspectLevel(config.detector), config.detector.rise}) {}

Node::Node(const Config& config, Timestamp started)
    : id_(config.node.id),
      ring_(config.events.ring_size),
      heartbeat_interval_(config.heartbeat.interval) {
  peers_.reserve(config.peers.size());
  for (const auto& pc : config.peers) {
    const auto index = static_cast<PeerIndex>(peers_.size());
    peers_.emplace_back(index, pc, config.heartbeat.interval);
    peers_.back().since_wall = started.wall;
    by_id_.emplace(pc.id, index);
  }
  deadlines_.Resize(peers_.size());
  due_.reserve(64);
}

std::optional<PeerIndex> Node::Find(std::string_view id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<RejectReason> Node::Reject(RejectReason reason) {
  ++counters_.rejected[static_cast<std::size_t>(reason)];
  return reason;
}

std::optional<RejectReason> Node::OnDatagram(std::span<const std::uint8_t> datagram,
                                             bool truncated, Timestamp now,
                                             const SourceMatcher* source) {
  ++counters_.datagrams_received;
  if (truncated) return Reject(RejectReason::kOversized);
  Message m;
  RejectReason why{};
  if (Decode(datagram, &m, &why) != DecodeStatus::kOk) return Reject(why);
  // Authenticity first: nothing below (not even the sequence numbers) may be touched by a
  // datagram that does not verify.
  if (m.authenticated && keyring_) {
    switch (Verify(datagram, m, *keyring_)) {
      case AuthResult::kOk:
        break;
      case AuthResult::kUnknownKey:
        return Reject(RejectReason::kUnknownKey);
      case AuthResult::kBadTag:
        return Reject(RejectReason::kBadMac);
    }
  } else if (require_auth_) {
    return Reject(RejectReason::kUnauthenticated);
  }
  if (m.sender_id == id_) return Reject(RejectReason::kSelf);
  const auto it = by_id_.find(m.sender_id);  // transparent: no temporary string
  if (it == by_id_.end()) return Reject(RejectReason::kUnknownSender);
  const PeerIndex index = it->second;
  if (source && !source->Matches(index)) return Reject(RejectReason::kWrongSource);
  PeerRecord& peer = peers_[index];
  now_ = now;
  // Authentic and from the peer's address: what we echo back to it from now on.
  peer.echo = std::max(peer.echo, m.incarnation);

  // Sequence numbers only mean something within one incarnation.
  const std::uint64_t known = peer.monitor.incarnation();
  const bool heard = peer.monitor.incarnation_known();
  if (heard && m.incarnation < known) return Reject(RejectReason::kStaleIncarnation);
  // An incarnation not yet confirmed must prove its datagrams were sent during this run of
  // ours (they echo our incarnation): no recording from before can do that.
  const bool confirming = require_echo_ && m.incarnation != peer.confirmed_incarnation;
  if (confirming && (!m.has_echo || m.echo != own_incarnation_)) {
    return Reject(RejectReason::kUnconfirmed);
  }
  if (heard && m.incarnation > known) peer.sequence.Reset();
  // Everything before the first fresh datagram may be a recording.
  if (confirming && m.sequence > 0) peer.sequence.RaiseFloor(m.sequence - 1);
  switch (peer.sequence.Observe(m.sequence)) {
    case SequenceTracker::Result::kOld:
      return Reject(RejectReason::kOldSequence);
    case SequenceTracker::Result::kLate:
      // Reordered: the peer was alive, but a newer heartbeat already said so. Counted (no
      // longer lost), not fed to the detector, whose intervals are between arrivals of news.
      ++counters_.late_heartbeats;
      if (arrival_listener_ && m.type == MessageType::kHeartbeat) {
        arrival_listener_(index, m.incarnation, m.sequence, now);
      }
      return std::nullopt;
    case SequenceTracker::Result::kNew:
      break;
  }
  if (confirming) peer.confirmed_incarnation = m.incarnation;
  return Apply(index, m, now);
}

std::optional<RejectReason> Node::Apply(PeerIndex index, const Message& m, Timestamp now) {
  PeerRecord& peer = peers_[index];
  Verdict verdict;
  if (m.type == MessageType::kLeave) {
    verdict = peer.monitor.OnLeave(now.mono, m.incarnation, event_ids_, *this);
    if (verdict == Verdict::kAccepted) ++counters_.leaves_accepted;
    // Senders repeat a leave in case one copy is lost: a repeat is expected, not hostile.
    if (verdict == Verdict::kAfterLeave) return std::nullopt;
  } else {
    verdict = peer.monitor.OnHeartbeat(now.mono, m.incarnation, event_ids_, *this, m.sequence);
    if (verdict == Verdict::kAccepted) {
      ++counters_.heartbeats_accepted;
      ++peer.heartbeats_received;
      peer.last_heartbeat_wall = now.wall;
      peer.sender_interval_us = m.interval_us;
      peer.previous.reset();
      if (arrival_listener_) arrival_listener_(index, m.incarnation, m.sequence, now);
    }
  }
  if (verdict == Verdict::kStaleIncarnation) return Reject(RejectReason::kStaleIncarnation);
  if (verdict == Verdict::kAfterLeave) return Reject(RejectReason::kAfterLeave);
  Reschedule(index);
  return std::nullopt;
}

void Node::Reschedule(PeerIndex index) {
  const auto next = peers_[index].monitor.NextDeadline();
  deadlines_.Set(index, next ? *next : kNever);
}

void Node::RunDue(Timestamp now, MonoTime hold_until) {
  now_ = now;
  due_.clear();
  deadlines_.PopDue(now.mono, due_);
  for (PeerIndex index : due_) {
    if (now.mono < hold_until) {
      deadlines_.Set(index, hold_until);  // judged once we have listened again
      continue;
    }
    peers_[index].monitor.Evaluate(now.mono, event_ids_, *this);
    Reschedule(index);
  }
}

void Node::NoteObservationGap() {
  for (auto& p : peers_) p.monitor.MarkObservationGap();
}

void Node::OnTransition(const Transition& t) {
  PeerRecord& peer = peers_[t.peer];
  peer.since_wall = now_.wall;
  ++counters_.transitions_to[static_cast<std::size_t>(t.to)];
  EventRecord e;
  e.id = t.id;
  e.peer = peer.id;
  e.from = t.from;
  e.to = t.to;
  e.reason = t.reason;
  e.wall_ms = EpochMillis(now_.wall);
  e.level = t.level;
  e.incarnation = t.incarnation;
  ring_.Push(e);
  if (listener_) listener_(e);
}

void Node::SetAuthentication(std::optional<Keyring> keyring, bool require_auth,
                             bool require_echo) {
  keyring_ = std::move(keyring);
  require_auth_ = require_auth && keyring_.has_value();
  require_echo_ = require_echo && require_auth_;
}

void Node::set_own_incarnation(std::uint64_t incarnation) {
  own_incarnation_ = incarnation;
  if (event_ids_.last() != history_.run_base) return;  // events were emitted already
  history_.run_base = std::max(history_.run_base, incarnation);
  event_ids_ = EventIdSource(history_.run_base);
}

void Node::Reindex() {
  by_id_.clear();
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    peers_[i].monitor.set_index(static_cast<PeerIndex>(i));
    by_id_.emplace(peers_[i].id, static_cast<PeerIndex>(i));
  }
  deadlines_ = DeadlineQueue();
  deadlines_.Resize(peers_.size());
  for (std::size_t i = 0; i < peers_.size(); ++i) Reschedule(static_cast<PeerIndex>(i));
}

ReconfigureSummary Node::Reconfigure(const Config& config, Timestamp now) {
  ReconfigureSummary summary;
  std::vector<PeerRecord> next;
  next.reserve(config.peers.size());
  std::vector<bool> kept(peers_.size(), false);
  for (const auto& pc : config.peers) {
    const auto it = by_id_.find(pc.id);
    if (it == by_id_.end()) {
      next.emplace_back(static_cast<PeerIndex>(next.size()), pc, config.heartbeat.interval);
      next.back().since_wall = now.wall;
      summary.added.push_back(pc.id);
      continue;
    }
    kept[it->second] = true;
    PeerRecord& old = peers_[it->second];
    if (!(old.address == pc.address)) {
      old.address = pc.address;
      summary.moved.push_back(pc.id);
    }
    if (!(old.detector_options == pc.detector)) {
      bool retuned = true;
      old.monitor.Reconfigure(
          MonitorOptions{SuspectLevel(pc.detector), pc.detector.rise},
          [&](FailureDetector& d) {
            return RetuneDetector(d, pc.detector, config.heartbeat.interval);
          },
          [&] {
            retuned = false;
            return MakeDetector(pc.detector, config.heartbeat.interval);
          });
      old.detector_options = pc.detector;
      (retuned ? summary.retuned : summary.replaced).push_back(pc.id);
    }
    next.push_back(std::move(old));
  }
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    if (!kept[i]) summary.removed.push_back(peers_[i].id);
  }
  peers_ = std::move(next);
  ring_.set_capacity(config.events.ring_size);
  heartbeat_interval_ = config.heartbeat.interval;
  Reindex();
  return summary;
}

PersistedState Node::Snapshot(Timestamp now, bool clean_stop) const {
  PersistedState s;
  s.node_id = id_;
  s.incarnation = own_incarnation_;
  s.written_ms = EpochMillis(now.wall);
  s.clean_stop = clean_stop;
  s.last_event_id = std::max(event_ids_.last(), history_.previous_last);
  s.peers.reserve(peers_.size());
  for (const auto& p : peers_) {
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
    pp.interval_us = p.sender_interval_us ? p.sender_interval_us
                                          : (p.previous ? p.previous->interval_us : 0);
    s.peers.push_back(std::move(pp));
  }
  return s;
}

void Node::Restore(const PersistedState& state, Timestamp now) {
  now_ = now;
  for (const auto& pp : state.peers) {
    const auto it = by_id_.find(pp.id);
    if (it == by_id_.end()) continue;  // no longer configured
    PeerRecord& p = peers_[it->second];
    if (p.monitor.incarnation_known()) continue;  // already heard: live data wins
    RestorePeer(p, pp, state.clean_stop, now);
    Reschedule(it->second);
  }
  history_.previous_last = state.last_event_id;
  history_.previous_clean = state.clean_stop;
  if (event_ids_.last() == history_.run_base && state.last_event_id > history_.run_base) {
    history_.run_base = state.last_event_id;
    event_ids_ = EventIdSource(history_.run_base);
  }
}

void Node::RestorePeer(PeerRecord& p, const PersistedPeer& pp, bool clean_stop,
                       Timestamp now) {
  p.previous = pp;
  p.since_wall = WallTime(std::chrono::milliseconds(pp.since_ms));
  const Duration interval =
      pp.interval_us ? Duration(std::chrono::microseconds(pp.interval_us)) : heartbeat_interval_;
  // After a kill, the file may be kStateWriteInterval old: the peer may have sent that many
  // more rounds, all accepted then and replayable now. Skip them, and a little more.
  // With echoes required none of them would be accepted anyway (they echo the previous
  // run's incarnation), so no margin: the peer is heard again as soon as it hears us.
  std::uint64_t margin = 0;
  if (!clean_stop && !require_echo_ && interval > Duration::zero()) {
    margin = static_cast<std::uint64_t>(
                 std::ceil(1.25 * ToMillis(kStateWriteInterval) / ToMillis(interval))) + 4;
  }
  if (pp.sequence > 0) p.sequence.RaiseFloor(pp.sequence + margin);
  // A restored up peer must be heard again (past the margin and, with echoes, a round
  // trip) within what a fresh detector would allow, or it is down.
  const Duration slowest = std::max(interval, heartbeat_interval_);
  auto fresh = MakeDetector(p.detector_options, interval);
  fresh->Heartbeat(now.mono, 0);
  const auto crossing = fresh->CrossingTime(fresh->threshold());
  const MonoTime bound = crossing ? *crossing : now.mono + 10 * slowest;
  const auto rounds = static_cast<Duration::rep>(margin + 2);
  p.monitor.Restore(ParsePeerState(pp.state).value_or(PeerState::kUnknown), pp.incarnation,
                    bound + rounds * slowest);
}

std::array<std::size_t, 5> Node::CountByState() const {
  std::array<std::size_t, 5> counts{};
  for (const auto& p : peers_) ++counts[static_cast<std::size_t>(p.monitor.state())];
  return counts;
}

}  // namespace vigil
