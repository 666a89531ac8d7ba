#include "daemon/node.h"

#include <algorithm>

namespace vigil {

PeerRecord::PeerRecord(PeerIndex index, const PeerConfig& config, Duration heartbeat_interval,
                       SharedDetectorOptions options)
    : id(config.id),
      detector_options(options ? std::move(options)
                               : std::make_shared<const DetectorOptions>(config.detector)),
      monitor(index, MakeDetector(*detector_options, heartbeat_interval),
              MonitorOptions{SuspectLevel(*detector_options), detector_options->rise}) {
  set_address(config.address);
}

namespace {
// The address of an enrolled peer: none.
const Endpoint& NoAddress() {
  static const Endpoint kNone{"", 0, Endpoint::HostKind::kName};
  return kNone;
}
}  // namespace

const Endpoint& PeerRecord::address() const { return address_ ? *address_ : NoAddress(); }

void PeerRecord::set_address(const Endpoint& address) {
  if (address == NoAddress()) {
    address_.reset();
  } else {
    address_ = std::make_unique<const Endpoint>(address);
  }
}

Node::Node(const Config& config, Timestamp started)
    : id_(config.node.id),
      ring_(config.events.ring_size),
      heartbeat_interval_(config.heartbeat.interval),
      enrollment_(config.enrollment),
      enrolled_detector_(std::make_shared<const DetectorOptions>(config.detector)) {
  ReserveIndex(config);
  for (const auto& pc : config.peers) AddPeer(pc, started.wall, peers_.size());
  due_.reserve(64);
}

void Node::ReserveIndex(const Config& config) {
  // Sized for every peer enrollment may add (8 bytes a slot): rehashing an index of a
  // million ids holds up the loop for a good part of a second, in the middle of enrolling.
  const std::size_t most = config.peers.size() +
                           (config.enrollment.enabled ? config.enrollment.max_peers : 0);
  by_id_.Reserve(most);
  peers_.reserve(most);
}

PeerIndex Node::AddPeer(const PeerConfig& pc, WallTime since, std::uint64_t order,
                        SharedDetectorOptions options) {
  const auto index = static_cast<PeerIndex>(peers_.size());
  if (!options) options = SharedOptionsFor(pc.detector);
  peers_.emplace_back(index, pc, heartbeat_interval_, std::move(options));
  peers_.back().since_wall = since;
  peers_.back().order = order;
  ++state_counts_[static_cast<std::size_t>(peers_.back().monitor.state())];
  by_id_.Insert(peers_.back().id, index);
  deadlines_.Resize(peers_.size());
  return index;
}

SharedDetectorOptions Node::SharedOptionsFor(const DetectorOptions& options) const {
  // Most listed peers keep the `detector:` defaults too.
  if (options == *enrolled_detector_) return enrolled_detector_;
  return std::make_shared<const DetectorOptions>(options);
}

std::size_t Node::FirstAfter(std::uint64_t order) const {
  const auto it = std::upper_bound(peers_.begin(), peers_.end(), order,
                                   [](std::uint64_t o, const PeerRecord& p) { return o < p.order; });
  return static_cast<std::size_t>(it - peers_.begin());
}

std::optional<PeerIndex> Node::Find(std::string_view id) const {
  const std::uint32_t index =
      by_id_.Find(id, [this](std::uint32_t i) { return std::string_view(peers_[i].id); });
  if (index == IdIndex::kAbsent) return std::nullopt;
  return index;
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
  if (const auto index = Find(m.sender_id)) return Accept(*index, m, now, source);
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
  // A peer that sends version 1 or 2 may read nothing newer (a vigil before 0.3): answered
  // in version 2 from now on, before the checks below, since its echo of us may be stale
  // exactly because it could not read our version 3. Harmless if this is a replay: every
  // peer reads version 2. Back to 3 only on a fresh version 3 datagram (after the checks).
  if (m.version < kWireVersion) peer.wire_version = kWireVersion2;

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
  if (m.version >= kWireVersion) peer.wire_version = kWireVersion;  // fresh: upgraded
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
      peer.set_last_heartbeat_wall(now.wall);
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

void Node::Publish(EventRecord event, std::int64_t wall_ms) {
  event.id = event_ids_.Next();
  event.wall_ms = wall_ms;
  ring_.Push(event);
  if (listener_) listener_(event);
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
  by_id_.Clear();
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    peers_[i].monitor.set_index(static_cast<PeerIndex>(i));
    by_id_.Insert(peers_[i].id, static_cast<PeerIndex>(i));
  }
  deadlines_ = DeadlineQueue();
  deadlines_.Resize(peers_.size());
  for (std::size_t i = 0; i < peers_.size(); ++i) Reschedule(static_cast<PeerIndex>(i));
}

// Applies `options` to a kept peer whose detector settings changed.
void Node::Retune(PeerRecord& peer, const SharedDetectorOptions& shared, Duration interval,
                  ReconfigureSummary& summary) {
  const DetectorOptions& options = *shared;
  if (*peer.detector_options == options) return;
  bool retuned = true;
  peer.monitor.Reconfigure(
      MonitorOptions{SuspectLevel(options), options.rise},
      [&](FailureDetector& d) { return RetuneDetector(d, options, interval); },
      [&] {
        retuned = false;
        return MakeDetector(options, interval);
      });
  peer.detector_options = shared;
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
  if (*enrolled_detector_ != config.detector) {
    enrolled_detector_ = std::make_shared<const DetectorOptions>(config.detector);
  }
  for (const auto& pc : config.peers) {
    // Kept records move to `next` as they are met; the index still finds the others (ids
    // in `peers:` are unique, so none is looked up after its record moved).
    const auto found = Find(pc.id);
    if (!found) {
      next.emplace_back(static_cast<PeerIndex>(next.size()), pc, config.heartbeat.interval,
                        SharedOptionsFor(pc.detector));
      next.back().since_wall = now.wall;
      next.back().order = next.size() - 1;
      if (const auto r = FindRemembered(pc.id)) {
        RestorePeer(next.back(), *r, /*clean_stop=*/true, now);  // marks carry on
        remembered_.Erase(pc.id);
      }
      summary.added.push_back(pc.id);
      continue;
    }
    kept[*found] = true;
    PeerRecord& old = peers_[*found];
    if (old.enrolled) {  // now listed: a configured peer from here on
      old.enrolled = false;
      --enrolled_count_;
    }
    if (!(old.address() == pc.address)) {
      old.set_address(pc.address);
      summary.moved.push_back(pc.id);
    }
    if (*old.detector_options != pc.detector) {
      Retune(old, SharedOptionsFor(pc.detector), config.heartbeat.interval, summary);
    }
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
    Retune(peers_[i], enrolled_detector_, config.heartbeat.interval, summary);
    next.push_back(std::move(peers_[i]));
  }
  peers_ = std::move(next);
  ring_.set_capacity(config.events.ring_size);
  ReserveIndex(config);
  Reindex();
  return summary;
}

}  // namespace vigil
