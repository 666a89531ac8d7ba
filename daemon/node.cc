#include "daemon/node.h"

namespace vigil {

PeerRecord::PeerRecord(PeerIndex index, const PeerConfig& config, Duration heartbeat_interval)
    : id(config.id),
      address(config.address),
      detector_options(config.detector),
      monitor(index, MakeDetector(config.detector, heartbeat_interval),
              MonitorOptions{SuspectLevel(config.detector), config.detector.rise}) {}

Node::Node(const Config& config, Timestamp started)
    : id_(config.node_id), ring_(config.event_ring_size) {
  peers_.reserve(config.peers.size());
  for (const auto& pc : config.peers) {
    const auto index = static_cast<PeerIndex>(peers_.size());
    peers_.emplace_back(index, pc, config.heartbeat_interval);
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

  // Sequence numbers only mean something within one incarnation.
  const std::uint64_t known = peer.monitor.incarnation();
  const bool heard = peer.monitor.incarnation_known();
  if (heard && m.incarnation < known) return Reject(RejectReason::kStaleIncarnation);
  if (heard && m.incarnation > known) peer.sequence.Reset();
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

void Node::SetAuthentication(std::optional<Keyring> keyring, bool require_auth) {
  keyring_ = std::move(keyring);
  require_auth_ = require_auth && keyring_.has_value();
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
      next.emplace_back(static_cast<PeerIndex>(next.size()), pc, config.heartbeat_interval);
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
            return RetuneDetector(d, pc.detector, config.heartbeat_interval);
          },
          [&] {
            retuned = false;
            return MakeDetector(pc.detector, config.heartbeat_interval);
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
  ring_.set_capacity(config.event_ring_size);
  Reindex();
  return summary;
}

PersistedState Node::Snapshot(std::uint64_t own_incarnation, Timestamp now) const {
  PersistedState s;
  s.node_id = id_;
  s.incarnation = own_incarnation;
  s.written_ms = EpochMillis(now.wall);
  for (const auto& p : peers_) {
    PersistedPeer pp;
    pp.id = p.id;
    const PeerState state = p.monitor.state();
    if (state == PeerState::kUnknown && p.previous) {
      pp = *p.previous;  // not heard since the restart: keep what the last run knew
    } else {
      pp.state = std::string(PeerStateName(state));
      pp.since_ms = EpochMillis(p.since_wall);
      if (p.last_heartbeat_wall) pp.last_heartbeat_ms = EpochMillis(*p.last_heartbeat_wall);
      pp.incarnation = p.monitor.incarnation();
    }
    s.peers.push_back(std::move(pp));
  }
  return s;
}

void Node::Restore(const PersistedState& state) {
  for (const auto& pp : state.peers) {
    const auto it = by_id_.find(pp.id);
    if (it == by_id_.end()) continue;  // no longer configured
    PeerRecord& p = peers_[it->second];
    if (p.monitor.state() != PeerState::kUnknown) continue;  // already heard: live data wins
    p.previous = pp;
    p.monitor.RestoreIncarnation(pp.incarnation);
  }
}

std::array<std::size_t, 5> Node::CountByState() const {
  std::array<std::size_t, 5> counts{};
  for (const auto& p : peers_) ++counts[static_cast<std::size_t>(p.monitor.state())];
  return counts;
}

}  // namespace vigil
