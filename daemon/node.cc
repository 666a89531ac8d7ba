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
                                             bool truncated, Timestamp now) {
  ++counters_.datagrams_received;
  if (truncated) return Reject(RejectReason::kOversized);
  Message m;
  RejectReason why{};
  if (Decode(datagram, &m, &why) != DecodeStatus::kOk) return Reject(why);
  if (m.sender_id == id_) return Reject(RejectReason::kSelf);
  const auto it = by_id_.find(m.sender_id);  // transparent: no temporary string
  if (it == by_id_.end()) return Reject(RejectReason::kUnknownSender);
  const PeerIndex index = it->second;
  PeerRecord& peer = peers_[index];
  now_ = now;

  // Sequence numbers only mean something within one incarnation.
  const std::uint64_t known = peer.monitor.incarnation();
  const bool heard = peer.monitor.state() != PeerState::kUnknown;
  if (heard && m.incarnation < known) return Reject(RejectReason::kStaleIncarnation);
  if (heard && m.incarnation > known) peer.sequence.Reset();
  if (peer.sequence.Observe(m.sequence) == SequenceTracker::Result::kOld) {
    return Reject(RejectReason::kOldSequence);
  }

  Verdict verdict;
  if (m.type == MessageType::kLeave) {
    verdict = peer.monitor.OnLeave(now.mono, m.incarnation, event_ids_, *this);
    if (verdict == Verdict::kAccepted) ++counters_.leaves_accepted;
    // Senders repeat a leave in case one copy is lost: a repeat is expected, not hostile.
    if (verdict == Verdict::kAfterLeave) return std::nullopt;
  } else {
    verdict = peer.monitor.OnHeartbeat(now.mono, m.incarnation, event_ids_, *this);
    if (verdict == Verdict::kAccepted) {
      ++counters_.heartbeats_accepted;
      ++peer.heartbeats_received;
      peer.last_heartbeat_wall = now.wall;
      peer.sender_interval_us = m.interval_us;
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

void Node::RunDue(Timestamp now) {
  now_ = now;
  due_.clear();
  deadlines_.PopDue(now.mono, due_);
  for (PeerIndex index : due_) {
    peers_[index].monitor.Evaluate(now.mono, event_ids_, *this);
    Reschedule(index);
  }
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

std::array<std::size_t, 5> Node::CountByState() const {
  std::array<std::size_t, 5> counts{};
  for (const auto& p : peers_) ++counts[static_cast<std::size_t>(p.monitor.state())];
  return counts;
}

}  // namespace vigil
