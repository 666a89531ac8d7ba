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
      heartbeat_interval_(config.heartbeat.interval),
      enrollment_(config.enrollment),
      enrolled_detector_(config.detector) {
  ReserveIndex(config);
  for (const auto& pc : config.peers) AddPeer(pc, started.wall, peers_.size());
  due_.reserve(64);
}

void Node::ReserveIndex(const Config& config) {
  // Sized for every peer enrollment may add (8 bytes a slot): rehashing an index of a
  // million ids holds up the loop for a good part of a second, in the middle of enrolling.
  const std::size_t most = config.peers.size() +
                           (config.enrollment.enabled ? config.enrollment.max_peers : 0);
  if (most > by_id_.bucket_count()) by_id_.reserve(most);
  peers_.reserve(most);
}

PeerIndex Node::AddPeer(const PeerConfig& pc, WallTime since, std::uint64_t order) {
  const auto index = static_cast<PeerIndex>(peers_.size());
  peers_.emplace_back(index, pc, heartbeat_interval_);
  peers_.back().since_wall = since;
  peers_.back().order = order;
  ++state_counts_[static_cast<std::size_t>(peers_.back().monitor.state())];
  by_id_.emplace(pc.id, index);
  deadlines_.Resize(peers_.size());
  return index;
}

std::size_t Node::FirstAfter(std::uint64_t order) const {
  const auto it = std::upper_bound(peers_.begin(), peers_.end(), order,
                                   [](std::uint64_t o, const PeerRecord& p) { return o < p.order; });
  return static_cast<std::size_t>(it - peers_.begin());
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
  if (const auto it = by_id_.find(m.sender_id); it != by_id_.end()) {  // no temporary string
    return Accept(it->second, m, now, source);
  }
  const auto enrolled = Enroll(m, now);
  if (const auto* refused = std::get_if<RejectReason>(&enrolled)) return Reject(*refused);
  const PeerIndex index = std::get<PeerIndex>(enrolled);
  const auto rejected = Accept(index, m, now, source);
  // Enrolled only by a datagram that is accepted: a replay must not take a slot.
  FinishEnrollment(index, !rejected);
  return rejected;
}

std::optional<RejectReason> Node::Accept(PeerIndex index, const Message& m, Timestamp now,
                                         const SourceMatcher* source) {
  PeerRecord& peer = peers_[index];
  // Enrolled peers are trusted for their MAC alone: if authentication was switched off by
  // a reload since, they are not heard unsigned (they have no address to check either).
  if (peer.enrolled && !(m.authenticated && keyring_)) {
    return Reject(RejectReason::kUnauthenticated);
  }
  if (source && !source->Matches(index)) return Reject(RejectReason::kWrongSource);
  now_ = now;
  // Authentic and from the peer's address: what we echo back to it from now on.
  peer.echo = std::max(peer.echo, m.incarnation);

  // Sequence numbers only mean something within one incarnation.
  const std::uint64_t known = peer.monitor.incarnation();
  const bool heard = peer.monitor.incarnation_known();
  if (heard && m.incarnation < known) return Reject(RejectReason::kStaleIncarnation);
  // An incarnation not yet confirmed must prove its datagrams were sent during this run of
  // ours (they echo our incarnation): no recording from before can do that. An enrolled
  // peer never hears from us, so it cannot; its replay guard is the high-water marks.
  const bool confirming =
      require_echo_ && !peer.enrolled && m.incarnation != peer.confirmed_incarnation;
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
    ++counters_.deadline_evaluations;
    Reschedule(index);
  }
}

void Node::NoteObservationGap() {
  for (auto& p : peers_) p.monitor.MarkObservationGap();
}

void Node::OnTransition(const Transition& t) {
  PeerRecord& peer = peers_[t.peer];
  peer.since_wall = now_.wall;
  --state_counts_[static_cast<std::size_t>(t.from)];
  ++state_counts_[static_cast<std::size_t>(t.to)];
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
  state_counts_ = {};
  for (const auto& p : peers_) ++state_counts_[static_cast<std::size_t>(p.monitor.state())];
  by_id_.clear();
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    peers_[i].monitor.set_index(static_cast<PeerIndex>(i));
    by_id_.emplace(peers_[i].id, static_cast<PeerIndex>(i));
  }
  deadlines_ = DeadlineQueue();
  deadlines_.Resize(peers_.size());
  for (std::size_t i = 0; i < peers_.size(); ++i) Reschedule(static_cast<PeerIndex>(i));
}

// Applies `options` to a kept peer whose detector settings changed.
void Node::Retune(PeerRecord& peer, const DetectorOptions& options, Duration interval,
                  ReconfigureSummary& summary) {
  if (peer.detector_options == options) return;
  bool retuned = true;
  peer.monitor.Reconfigure(
      MonitorOptions{SuspectLevel(options), options.rise},
      [&](FailureDetector& d) { return RetuneDetector(d, options, interval); },
      [&] {
        retuned = false;
        return MakeDetector(options, interval);
      });
  peer.detector_options = options;
  (retuned ? summary.retuned : summary.replaced).push_back(peer.id);
}

ReconfigureSummary Node::Reconfigure(const Config& config, Timestamp now) {
  ++reconfigurations_;
  fresh_allowance_.reset();
  ReconfigureSummary summary;
  PeerTable next;
  next.reserve(config.peers.size() + enrolled_count_);
  std::vector<bool> kept(peers_.size(), false);
  heartbeat_interval_ = config.heartbeat.interval;
  enrollment_ = config.enrollment;
  enrolled_detector_ = config.detector;
  for (const auto& pc : config.peers) {
    const auto it = by_id_.find(pc.id);
    if (it == by_id_.end()) {
      next.emplace_back(static_cast<PeerIndex>(next.size()), pc, config.heartbeat.interval);
      next.back().since_wall = now.wall;
      next.back().order = next.size() - 1;
      if (const auto r = remembered_.find(pc.id); r != remembered_.end()) {
        RestorePeer(next.back(), r->second, /*clean_stop=*/true, now);  // marks carry on
        remembered_.erase(r);
      }
      summary.added.push_back(pc.id);
      continue;
    }
    kept[it->second] = true;
    PeerRecord& old = peers_[it->second];
    if (old.enrolled) {  // now listed: a configured peer from here on
      old.enrolled = false;
      --enrolled_count_;
    }
    if (!(old.address == pc.address)) {
      old.address = pc.address;
      summary.moved.push_back(pc.id);
    }
    Retune(old, pc.detector, config.heartbeat.interval, summary);
    old.order = next.size();  // listed: its place in `peers:`
    next.push_back(std::move(old));
  }
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    if (kept[i]) continue;
    if (!peers_[i].enrolled) {
      summary.removed.push_back(peers_[i].id);
      if (MayEnroll(peers_[i].id)) Remember(peers_[i]);  // its marks outlive it
      continue;
    }
    // Enrolled peers stay (enrollment switched off only stops new ones); they follow the
    // `detector:` defaults.
    Retune(peers_[i], config.detector, config.heartbeat.interval, summary);
    next.push_back(std::move(peers_[i]));
  }
  peers_ = std::move(next);
  ring_.set_capacity(config.events.ring_size);
  ReserveIndex(config);
  Reindex();
  return summary;
}

void Node::Restore(const PersistedState& state, Timestamp now) {
  now_ = now;
  // A million restored peers must not regrow the table (and rehash the index) twenty times.
  restored_write_interval_ = StateWriteInterval(state.peers.size());
  const std::size_t most = peers_.size() + state.peers.size();
  peers_.reserve(most);
  if (most > by_id_.bucket_count()) by_id_.reserve(most);  // never below ReserveIndex's
  deadlines_.Reserve(most);
  // A snapshot may meet a peer twice (tracked, then forgotten into the remembered table):
  // the later record wins, so a peer restored by this call is restored again.
  std::vector<bool> restored(most, false);
  for (const auto& pp : state.peers) {
    const auto it = by_id_.find(pp.id);
    if (it == by_id_.end()) {
      // A listed peer no longer configured is dropped, unless enrollment would take its id:
      // then its marks must outlive it, or its recorded datagrams would enroll it again.
      if (pp.enrolled || MayEnroll(pp.id)) {
        if (const auto index = RestoreEnrolled(pp, state.clean_stop, now)) restored[*index] = true;
      }
      continue;
    }
    PeerRecord& p = peers_[it->second];
    // Already heard: live data wins.
    if (!restored[it->second] && p.monitor.incarnation_known()) continue;
    RestorePeer(p, pp, state.clean_stop, now);
    restored[it->second] = true;
    Reschedule(it->second);
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
  auto fresh = MakeDetector(p.detector_options, interval);
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
  p.previous = pp;
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
