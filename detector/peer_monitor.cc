#include "detector/peer_monitor.h"

#include <cmath>
#include <limits>
#include <utility>

namespace vigil {

PeerMonitor::PeerMonitor(PeerIndex index, std::unique_ptr<FailureDetector> detector,
                         const MonitorOptions& options)
    : detector_(std::move(detector)), index_(index) {
  SetOptions(options);
}

void PeerMonitor::SetOptions(const MonitorOptions& options) {
  suspect_level_ = options.suspect_level.value_or(std::numeric_limits<double>::quiet_NaN());
  rise_ = options.rise;
}

bool PeerMonitor::Crossed(double level, MonoTime now) const {
  const auto at = detector_->CrossingTime(level);
  return at && now >= *at;
}

void PeerMonitor::Move(PeerState to, MonoTime now, TransitionReason reason,
                       EventIdSource& ids, TransitionSink& sink) {
  Transition t;
  t.id = ids.Next();
  t.peer = index_;
  t.from = state_;
  t.to = to;
  t.at = now;
  t.level = detector_->Level(now);
  t.reason = reason;
  t.incarnation = incarnation_;
  if (state_ == PeerState::kUp && (to == PeerState::kSuspect || to == PeerState::kDown)) {
    ++flaps_;
  }
  state_ = to;
  since_ = now;
  sink.OnTransition(t);
}

Verdict PeerMonitor::OnHeartbeat(MonoTime now, std::uint64_t incarnation, EventIdSource& ids,
                                 TransitionSink& sink, std::uint64_t sequence) {
  if (incarnation_known() && incarnation < incarnation_) return Verdict::kStaleIncarnation;

  if (heard_ && incarnation > incarnation_) {
    // A restart: the process is new, so it is up now whatever we thought of the old one.
    // The silence across the restart is not a heartbeat interval.
    incarnation_ = incarnation;
    detector_->Rebase(now, sequence);
    rise_progress_ = 0;
    Move(PeerState::kUp, now, TransitionReason::kRestart, ids, sink);
    return Verdict::kAccepted;
  }
  if (!heard_) return FirstHeartbeat(now, incarnation, sequence, ids, sink);
  if (state_ == PeerState::kLeft) return Verdict::kAfterLeave;

  if (rebase_next_) {
    // The gap before this heartbeat spans time we could not observe: do not learn it.
    rebase_next_ = false;
    detector_->Rebase(now, sequence);
    if (state_ == PeerState::kSuspect || (state_ == PeerState::kDown && rise_ <= 1)) {
      rise_progress_ = 0;
      Move(PeerState::kUp, now, TransitionReason::kHeartbeat, ids, sink);
    } else if (state_ == PeerState::kDown && ++rise_progress_ >= rise_) {
      rise_progress_ = 0;
      Move(PeerState::kUp, now, TransitionReason::kHeartbeat, ids, sink);
    }
    return Verdict::kAccepted;
  }

  switch (state_) {
    case PeerState::kDown: {
      // A conviction since the previous heartbeat breaks the run of `rise` heartbeats.
      if (Crossed(detector_->threshold(), now)) rise_progress_ = 0;
      detector_->Heartbeat(now, sequence);
      if (++rise_progress_ >= rise_) {
        rise_progress_ = 0;
        Move(PeerState::kUp, now, TransitionReason::kHeartbeat, ids, sink);
      }
      break;
    }
    case PeerState::kSuspect:
      detector_->Heartbeat(now, sequence);
      Move(PeerState::kUp, now, TransitionReason::kHeartbeat, ids, sink);
      break;
    case PeerState::kUp:
    case PeerState::kUnknown:
    case PeerState::kLeft:
      detector_->Heartbeat(now, sequence);
      break;
  }
  return Verdict::kAccepted;
}

Verdict PeerMonitor::FirstHeartbeat(MonoTime now, std::uint64_t incarnation,
                                    std::uint64_t sequence, EventIdSource& ids,
                                    TransitionSink& sink) {
  const bool restarted = restored_ && incarnation > incarnation_;
  if (restored_ && !restarted && state_ == PeerState::kLeft) return Verdict::kAfterLeave;
  heard_ = true;
  restored_ = false;
  judge_restored_at_ = kNever;
  incarnation_ = incarnation;
  detector_->Heartbeat(now, sequence);
  if (restarted || state_ == PeerState::kUnknown) {
    Move(PeerState::kUp, now,
         restarted ? TransitionReason::kRestart : TransitionReason::kFirstHeartbeat, ids, sink);
  } else if (state_ == PeerState::kSuspect ||
             (state_ == PeerState::kDown && ++rise_progress_ >= rise_)) {
    rise_progress_ = 0;
    Move(PeerState::kUp, now, TransitionReason::kHeartbeat, ids, sink);
  }
  return Verdict::kAccepted;  // a restored up peer heard again simply stays up
}

void PeerMonitor::Restore(PeerState state, std::uint64_t incarnation, MonoTime judge_at) {
  if (heard_ || state == PeerState::kUnknown) return;
  restored_ = true;
  state_ = state;
  incarnation_ = incarnation;
  // Restored again (a later record): only its state decides whether it is judged.
  judge_restored_at_ = kNever;
  if (state == PeerState::kUp || state == PeerState::kSuspect) judge_restored_at_ = judge_at;
}

Verdict PeerMonitor::OnLeave(MonoTime now, std::uint64_t incarnation, EventIdSource& ids,
                             TransitionSink& sink) {
  if (incarnation_known() && incarnation < incarnation_) return Verdict::kStaleIncarnation;
  if (state_ == PeerState::kLeft && incarnation == incarnation_) return Verdict::kAfterLeave;
  heard_ = true;
  restored_ = false;
  judge_restored_at_ = kNever;
  incarnation_ = incarnation;
  rise_progress_ = 0;
  Move(PeerState::kLeft, now, TransitionReason::kLeave, ids, sink);
  return Verdict::kAccepted;
}

void PeerMonitor::Evaluate(MonoTime now, EventIdSource& ids, TransitionSink& sink) {
  if (!heard_) {
    // Restored from a previous run and not heard since: down once its grace has passed.
    if (now >= judge_restored_at_ && judge_restored_at_ != kNever) {
      judge_restored_at_ = kNever;
      Move(PeerState::kDown, now, TransitionReason::kSilence, ids, sink);
    }
    return;
  }
  switch (state_) {
    case PeerState::kUp:
      if (Crossed(detector_->threshold(), now)) {
        Move(PeerState::kDown, now, TransitionReason::kSilence, ids, sink);
      } else if (has_suspect_level() && Crossed(suspect_level_, now)) {
        Move(PeerState::kSuspect, now, TransitionReason::kSuspicion, ids, sink);
      }
      break;
    case PeerState::kSuspect:
      if (Crossed(detector_->threshold(), now)) {
        Move(PeerState::kDown, now, TransitionReason::kSilence, ids, sink);
      }
      break;
    case PeerState::kDown:
      // Heartbeats while down that did not yet reach `rise` stop counting once silence
      // convicts again.
      if (rise_progress_ > 0 && Crossed(detector_->threshold(), now)) rise_progress_ = 0;
      break;
    case PeerState::kUnknown:
    case PeerState::kLeft:
      break;
  }
}

std::optional<MonoTime> PeerMonitor::NextDeadline() const {
  if (!heard_) {
    if (judge_restored_at_ == kNever) return std::nullopt;
    return judge_restored_at_;
  }
  switch (state_) {
    case PeerState::kUp:
      if (has_suspect_level()) return detector_->CrossingTime(suspect_level_);
      return detector_->CrossingTime(detector_->threshold());
    case PeerState::kSuspect:
      return detector_->CrossingTime(detector_->threshold());
    case PeerState::kDown:
      if (rise_progress_ > 0) return detector_->CrossingTime(detector_->threshold());
      return std::nullopt;
    case PeerState::kUnknown:
    case PeerState::kLeft:
      return std::nullopt;
  }
  return std::nullopt;
}

void PeerMonitor::Reconfigure(const MonitorOptions& options,
                              const std::function<bool(FailureDetector&)>& retune,
                              const std::function<std::unique_ptr<FailureDetector>()>& replacement) {
  SetOptions(options);
  if (retune(*detector_)) return;
  const auto last = detector_->last_heartbeat();
  detector_ = replacement();
  if (last) detector_->Rebase(*last);
}

}  // namespace vigil
