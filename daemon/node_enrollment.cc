// Node's enrolled peers (config.enrollment): senders not listed in `peers:` that prove they
// hold a key of the keyring are added to the peer table by their first accepted heartbeat,
// and leave it for the remembered table after enrollment.retention of silence.
#include <fnmatch.h>

#include <algorithm>
#include <cmath>

#include "daemon/node.h"

namespace vigil {

namespace {

// Its detector settings are the shared `detector:` defaults, passed to AddPeer apart.
PeerConfig EnrolledPeerConfig(std::string_view id) {
  PeerConfig pc;
  pc.id = std::string(id);
  pc.address = Endpoint{"", 0, Endpoint::HostKind::kName};  // none: only listened to
  return pc;
}

}  // namespace

bool Node::MayEnroll(std::string_view id) const {
  const std::string nul_terminated(id);
  return enrollment_.enabled &&
         ::fnmatch(enrollment_.id_pattern.c_str(), nul_terminated.c_str(), 0) == 0;
}

std::variant<PeerIndex, RejectReason> Node::Enroll(const Message& m, Timestamp now) {
  // `authenticated` with a keyring means the MAC verified (OnDatagram checked it first). A
  // leave enrolls nobody: there is nothing to watch.
  const bool trusted = m.authenticated && keyring_.has_value() && m.type == MessageType::kHeartbeat;
  if (!trusted || !MayEnroll(m.sender_id)) return RejectReason::kUnknownSender;
  // Never evict: a full table refuses the newcomer, so a flood of new ids (each holding a
  // key) cannot push out the peers already watched.
  if (enrolled_count_ >= enrollment_.max_peers) return RejectReason::kEnrollmentFull;
  const PeerIndex index = AddPeer(EnrolledPeerConfig(m.sender_id), now.wall,
                                  next_enrolled_order_++, enrolled_detector_);
  PeerRecord& peer = peers_[index];
  peer.enrolled = true;
  ++enrolled_count_;
  if (const auto r = FindRemembered(m.sender_id)) {
    // Its state, since and replay high-water marks carry on (the datagram is judged
    // against them next).
    RestorePeer(peer, *r, /*clean_stop=*/true, now);
  }
  return index;
}

void Node::FinishEnrollment(PeerIndex index, bool accepted) {
  PeerRecord& peer = peers_[index];
  if (accepted) {
    remembered_.Erase(peer.id);
    ++counters_.peers_enrolled;
    Reschedule(index);
    return;
  }
  // Rejected (a replay, a stale incarnation): as if it had never come. It is the last one.
  by_id_.Erase(peer.id, [this](std::uint32_t i) { return std::string_view(peers_[i].id); });
  --state_counts_[static_cast<std::size_t>(peer.monitor.state())];
  deadlines_.Clear(index);
  peers_.pop_back();
  deadlines_.Resize(peers_.size());
  --enrolled_count_;
}

std::optional<PeerIndex> Node::RestoreEnrolled(const PersistedPeer& restored, bool clean_stop,
                                               Timestamp now) {
  const PersistedPeer& pp = restored;
  const std::int64_t last_ms = pp.last_heartbeat_ms.value_or(pp.since_ms);
  const bool stale = EpochMillis(now.wall) - last_ms >
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         enrollment_.retention).count();
  if (stale || !MayEnroll(pp.id) || enrolled_count_ >= enrollment_.max_peers) {
    // Kept as remembered whatever the configuration says now: no last seen is lost. The
    // unclean-stop margin goes into its mark now, as it would into a tracked peer's.
    PersistedPeer kept = restored;
    kept.sequence += ReplayMargin(kept, clean_stop, /*echo_required=*/false);
    if (kept.state == "up" || kept.state == "suspect") {
      // Silent past its retention since the previous run last heard it: down by now, and
      // this restart is when that is known.
      kept.state = "down";
      kept.since_ms = EpochMillis(now.wall);
    }
    PutRemembered(FieldsOf(kept));
    return std::nullopt;
  }
  remembered_.Erase(pp.id);  // an earlier record of it may have gone there
  const PeerIndex index =
      AddPeer(EnrolledPeerConfig(pp.id), now.wall, next_enrolled_order_++, enrolled_detector_);
  peers_[index].enrolled = true;
  ++enrolled_count_;
  RestorePeer(peers_[index], pp, clean_stop, now);
  Reschedule(index);
  return index;
}

void Node::Remember(const PeerRecord& p) { PutRemembered(Fields(p)); }

void Node::PutRemembered(const PeerFields& f) {
  // Refused only when 4 GiB of records are held: counted (vigil_remembered_refused_total).
  if (!remembered_.Put(f)) ++counters_.remembered_refused;
}

Duration Node::SilenceOf(const PeerRecord& p, Timestamp now) const {
  if (const auto last = p.monitor.detector().last_heartbeat()) return now.mono - *last;
  // Not heard in this run: the previous run's last heartbeat, by the wall clock.
  const std::int64_t last_ms = p.previous && p.previous->last_heartbeat_ms
                                   ? *p.previous->last_heartbeat_ms
                                   : EpochMillis(p.since_wall);
  return std::chrono::milliseconds(std::max<std::int64_t>(0, EpochMillis(now.wall) - last_ms));
}

bool Node::Forgettable(const PeerRecord& p, Timestamp now) const {
  if (!p.enrolled) return false;
  // Judged first: an up or suspect peer is never remembered as such.
  const PeerState state = p.monitor.state();
  if (state == PeerState::kUp || state == PeerState::kSuspect) return false;
  return SilenceOf(p, now) > enrollment_.retention;
}

std::size_t Node::ForgetSliceSize(std::size_t peers, Duration retention, Duration every) {
  const double calls_per_pass = std::max(1.0, ToMillis(retention) / 64 / ToMillis(every));
  const auto slice =
      static_cast<std::size_t>(std::ceil(static_cast<double>(peers) / calls_per_pass));
  return std::clamp(slice, kMinForgetSlice, kMaxForgetSlice);
}

std::size_t Node::ForgetSilent(Timestamp now, MonoTime hold_until, std::size_t max_scan) {
  // While the guard holds, silence says nothing about the peers: this daemon was not there.
  if (enrolled_count_ == 0 || now.mono < hold_until) return 0;
  if (forget_generation_ != reconfigurations_) {  // renumbered: what was found is stale
    forget_generation_ = reconfigurations_;
    forget_cursor_ = 0;
    forget_found_.clear();
  }
  // Enrollment only appends (and takes back only the peer it just appended), so the indexes
  // found by earlier slices of this pass still name the same peers.
  std::size_t i = std::min(std::max(forget_cursor_, listed_count()), peers_.size());
  const std::size_t end = peers_.size() - i > max_scan ? i + max_scan : peers_.size();
  for (; i < end; ++i) {
    if (Forgettable(peers_[i], now)) forget_found_.push_back(static_cast<PeerIndex>(i));
  }
  forget_cursor_ = i;
  if (i < peers_.size()) return 0;
  forget_cursor_ = 0;
  std::vector<bool> forget;
  std::size_t forgotten = 0;
  for (const PeerIndex index : forget_found_) {
    // Heard again since the slice found it: kept.
    if (index >= peers_.size() || !Forgettable(peers_[index], now)) continue;
    if (forget.empty()) forget.assign(peers_.size(), false);
    Remember(peers_[index]);
    forget[index] = true;
    ++forgotten;
  }
  forget_found_.clear();
  if (forgotten > 0) RemovePeers(forget, forgotten);
  return forgotten;
}

void Node::RemovePeers(const std::vector<bool>& forget, std::size_t count) {
  PeerTable kept;
  kept.reserve(peers_.size() - count);
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    if (!forget[i]) kept.push_back(std::move(peers_[i]));
  }
  peers_ = std::move(kept);
  enrolled_count_ -= count;
  counters_.peers_forgotten += count;
  Reindex();
}

std::optional<PersistedPeer> Node::FindRemembered(std::string_view id) const {
  const auto f = remembered_.Find(id);
  if (!f) return std::nullopt;
  return ToPersisted(*f);
}

}  // namespace vigil
