#include "membership/membership_node.h"

#include <algorithm>
#include <cassert>
#include <type_traits>

#include "membership/mix64.h"
#include "membership/watched_subject.h"

namespace vigil::membership {

DetectorOptions ObserverDetectorDefaults() {
  DetectorOptions options;
  AdaptiveKnobs knobs;
  knobs.target_mistakes_per_hour = 3;
  options.knobs = knobs;
  return options;
}

MembershipNode::MembershipNode(MembershipOptions options,
                               std::shared_ptr<const ObserverGraph> view, GraphSource& source,
                               MonoTime now)
    : options_(std::move(options)),
      source_(source),
      graph_(std::move(view)),
      incarnation_(options_.incarnation),
      tombstones_(options_.tombstone_lifetime),
      guard_(options_.incarnation),
      probe_state_(RingPosition(1, options_.self)),
      sync_(options_.sync) {
  assert(graph_->observers_per_member() == options_.observers);
  assert(options_.interval > Duration::zero() && options_.incarnation > 0);
  assert(options_.dispute_wait > Duration::zero());
  assert(options_.digest_interval > Duration::zero() &&
         options_.digest_interval_busy > Duration::zero());
  assert(options_.probe_interval > Duration::zero());
  assert(options_.corroborated_level > 0 && options_.corroborated_level <= 1 &&
         options_.corroboration_wait >= Duration::zero());
  assert(options_.admission_batch >= Duration::zero() &&
         options_.pass_on_gather >= Duration::zero() &&
         options_.notice_repeat >= Duration::zero());
  assert(options_.report_repeat > Duration::zero() &&
         options_.report_repeat < options_.cut.report_lifetime);
  const auto self = graph_->Find(options_.self);
  assert(self.has_value());
  self_index_ = *self;
  SetNeighbours();
  cut_ = std::make_unique<CutDetector>(*graph_, options_.cut);
  // Members spread their heartbeats over the interval by a phase of their own.
  const auto interval = static_cast<std::uint64_t>(options_.interval.count());
  const auto phase = static_cast<std::int64_t>(RingPosition(0, options_.self) % interval);
  next_heartbeat_ = now + Duration(phase);
  const auto digests = static_cast<std::uint64_t>(options_.digest_interval.count());
  next_digest_ =
      now + Duration(static_cast<std::int64_t>(RingPosition(2, options_.self) % digests));
  Rewatch(now);
}

namespace {
std::shared_ptr<const ObserverGraph> ViewOfOne(const MembershipOptions& options) {
  return std::make_shared<const ObserverGraph>(
      ObserverGraph::Build({options.self}, options.observers));
}
}  // namespace

MembershipNode::MembershipNode(MembershipOptions options, GraphSource& source, MonoTime now)
    : MembershipNode(options, ViewOfOne(options), source, now) {
  assert(options_.join_retry > Duration::zero() && options_.join_retry_max > Duration::zero() &&
         options_.join_patience > Duration::zero());
  welcomed_ = false;
  syncing_ = true;
  join_delay_ = options_.join_retry;
  next_join_ = now;
  patience_until_ = AddSaturated(now, options_.join_patience);
}

MembershipNode::~MembershipNode() = default;

void MembershipNode::SetNeighbours() {
  neighbours_.clear();
  for (MemberIndex n : graph_->NeighboursOf(self_index_)) neighbours_.push_back(graph_->id(n));
}

Gossip& Outbox::To(const std::string& to) {
  auto it =
      std::find_if(gossip.begin(), gossip.end(), [&](const auto& g) { return g.first == to; });
  if (it == gossip.end()) it = gossip.insert(gossip.end(), {to, Gossip{}});
  return it->second;
}

std::uint64_t MembershipNode::KnownIncarnation(const std::string& member) const {
  const auto it = incarnations_.find(member);
  return it == incarnations_.end() ? 0 : it->second;
}

std::uint64_t MembershipNode::NewestIncarnation(const std::string& member) const {
  std::uint64_t newest = KnownIncarnation(member);
  if (const auto it = subjects_.find(member); it != subjects_.end()) {
    newest = std::max(newest, it->second->monitor->incarnation());
  }
  return newest;
}

std::unordered_map<std::string_view, std::uint64_t> MembershipNode::RemovedIncarnations(
    const std::vector<std::string>& gone) const {
  std::unordered_map<std::string_view, std::uint64_t> newest;
  for (const std::string& id : gone) {
    std::uint64_t incarnation = KnownIncarnation(id);
    if (const auto it = subjects_.find(id); it != subjects_.end()) {
      incarnation = std::max(incarnation, it->second->monitor->incarnation());
    }
    newest.emplace(id, incarnation);
  }
  // One pass over the reports held, whatever the size of the cut.
  for (const auto& [report, at] : held_) {
    if (const auto it = newest.find(report.subject); it != newest.end()) {
      it->second = std::max(it->second, report.incarnation);
    }
  }
  return newest;
}

void MembershipNode::Rewatch(MonoTime now) {
  std::unordered_map<std::string, std::unique_ptr<Subject>> watched;
  for (MemberIndex s : graph_->SubjectsOf(self_index_)) {
    const std::string& id = graph_->id(s);
    if (auto it = subjects_.find(id); it != subjects_.end()) {
      watched.emplace(id, std::move(it->second));
      continue;
    }
    auto subject = std::make_unique<Subject>();
    MonitorOptions monitor_options;
    monitor_options.suspect_level = SuspectLevel(options_.detector);
    monitor_options.rise = options_.detector.rise;
    subject->monitor = std::make_unique<PeerMonitor>(
        0, MakeDetector(options_.detector, options_.interval), monitor_options);
    // Up until proven otherwise: never heard within the grace, it is convicted.
    subject->monitor->Restore(PeerState::kUp, 0, now + options_.first_heartbeat_grace);
    watched.emplace(id, std::move(subject));
  }
  subjects_ = std::move(watched);
}

void MembershipNode::AbstainUntil(MonoTime until) {
  abstain_until_ = std::max(abstain_until_, until);
}

void MembershipNode::MarkObservationGap() {
  for (auto& [id, watched] : subjects_) watched->monitor->MarkObservationGap();
}

void MembershipNode::Convict(const std::string& subject, Subject& watched, MonoTime now,
                             Outbox& out) {
  watched.convicted = true;
  watched.repeat_at = now + options_.report_repeat;
  SendReport(subject, watched, 0, now, out);
}

void MembershipNode::SendReport(const std::string& subject, Subject& watched,
                                std::uint64_t at_least, MonoTime now, Outbox& out) {
  // Of the newest incarnation this node knows: the one it last heard, or a newer one the
  // subject announced since (a subject that refuted, then died, is reported all the same).
  const std::uint64_t incarnation =
      std::max({watched.monitor->incarnation(), KnownIncarnation(subject), at_least});
  const Report report{options_.self, subject, incarnation, ++watched.round};
  // First to the subject's other observers and to the subject itself (which refutes if it
  // is alive); the whole cluster hears of it only once L observers agree (Learn).
  const auto s = graph_->Find(subject);
  for (MemberIndex o : graph_->ObserversOf(*s)) {
    if (o != self_index_) out.To(graph_->id(o)).reports.push_back(report);
  }
  out.To(subject).reports.push_back(report);
  Learn(report, options_.self, now, out);
}

void MembershipNode::OnGossip(const Gossip& gossip, std::string_view from, MonoTime now,
                              Outbox& out) {
  NoteContacts(gossip, from);
  for (const Alive& j : gossip.joins) OnJoin(j, from, now, out);
  for (const Pull& p : gossip.pulls) OnPull(p, from, now, out);
  OnListing(gossip, from, now, out);
  for (const Digest& d : gossip.digests) OnDigest(d, from, now, out);
  for (const Summary& s : gossip.summaries) OnSummary(s, from, now, out);
  for (const Alive& a : gossip.alives) Learn(a, from, now, out);
  for (const Report& r : gossip.reports) Learn(r, from, now, out);
  for (const Alive& l : gossip.leaves) LearnLeave(l, from, now, out);
  ApplyCut(now, out);
}

void MembershipNode::Learn(const Alive& alive, std::string_view from, MonoTime now,
                           Outbox& out) {
  if (alive.member == options_.self || alive.incarnation <= KnownIncarnation(alive.member)) {
    return;
  }
  if (AliveAfterRemoval(alive, from, now, out)) return;
  incarnations_[alive.member] = alive.incarnation;
  const auto m = graph_->Find(alive.member);
  if (!m) {  // a member that joins: the news goes on to the whole cluster
    Admit(alive, from, true, now, out);
    return;
  }
  // Where the reports went, the refutation follows: a node that had L reports had passed
  // them on to its neighbours, so it passes this on too.
  const bool passed_on = cut_->ExplicitReports(*m) >= cut_->low();
  cut_->Withdraw(*m);
  // Reports of the new incarnation that came before the refutation still count.
  for (const auto& [held, at] : held_) {
    if (held.subject != alive.member || held.incarnation < alive.incarnation) continue;
    if (const auto o = graph_->Find(held.observer)) cut_->Report(*m, *o, now);
  }
  if (passed_on) PassOn(alive, from, now, out);
  // A sign of life of the new incarnation for an observer that convicted the old one: it
  // starts over from now, so that if the subject dies before its next heartbeat, the
  // silence convicts the new incarnation. (An observer that did not convict waits for the
  // heartbeats of the new incarnation, which carry their sequence numbers.)
  const auto it = subjects_.find(alive.member);
  if (it == subjects_.end()) return;
  Subject& watched = *it->second;
  if (watched.monitor->state() == PeerState::kDown) {
    Sink sink;
    watched.monitor->OnHeartbeat(now, alive.incarnation, event_ids_, sink, 0);
  }
  // The reports of older incarnations no longer corroborate. Back up, or convicted on
  // corroboration that no longer holds: it is not convicted.
  Corroborate(alive.member, now);
  if (watched.monitor->state() != PeerState::kDown && now >= watched.corroborated_until) {
    watched.convicted = false;
    watched.repeat_at = kNever;
  }
}

void MembershipNode::Learn(const Report& report, std::string_view from, MonoTime now,
                           Outbox& out) {
  // A fingerprint, not the key: a mass failure's flood brings thousands of reports, each
  // held for report_lifetime, and most arrive more than once. Its fields are hashed as they
  // are, with no string built. Two reports collide with probability about 2^-64 (the later
  // would be taken for seen); one who could make them collide holds the key and could
  // forge a refutation instead.
  std::uint64_t fingerprint = Mix64(std::hash<std::string_view>{}(report.observer));
  fingerprint = Mix64(fingerprint ^ std::hash<std::string_view>{}(report.subject));
  fingerprint = Mix64(fingerprint ^ report.incarnation);
  fingerprint = Mix64(fingerprint ^ report.round);
  if (!seen_.insert(fingerprint).second) return;
  seen_order_.emplace_back(now, fingerprint);
  if (report.subject == options_.self) {
    Refute(report, now, out);
    return;
  }
  if (report.incarnation < KnownIncarnation(report.subject)) return;  // refuted since
  const auto subject = graph_->Find(report.subject);
  const auto observer = graph_->Find(report.observer);
  if (!subject || !observer) return;
  const auto outcome = cut_->Report(*subject, *observer, now);
  if (outcome != CutDetector::ReportOutcome::kCounted &&
      outcome != CutDetector::ReportOutcome::kRenewed) {
    return;
  }
  held_.emplace_back(report, now);
  Corroborate(report, now);
  // Below L it stays among the subject's observers. At L the whole cluster must hear of it:
  // this report and the ones held before. Beyond H, this node's neighbours have had H.
  const int count = cut_->ExplicitReports(*subject);
  if (count < cut_->low() || count > cut_->high()) return;
  PassOn(report, from, now, out);
  if (count != cut_->low() || outcome != CutDetector::ReportOutcome::kCounted) return;
  const std::uint64_t known = KnownIncarnation(report.subject);
  for (const auto& [held, at] : held_) {
    if (held.subject == report.subject && held.incarnation >= known && !(held == report)) {
      PassOn(held, "", now, out);
    }
  }
}

void MembershipNode::Refute(const Report& report, MonoTime now, Outbox& out) {
  // Each side of a healed partition took the other out: a reporter this node took out is
  // told so in turn, and comes back too.
  if (tombstones_.Find(report.observer) != nullptr) {
    Notify(report.observer, NoticeCause::kHeard, now, out);
  }
  // Reported, yet alive: a higher incarnation voids every report of this one. It goes to
  // this node's observers, who hold the reports; they pass it on if they had passed the
  // reports on (Learn(Alive)).
  if (report.incarnation < refuted_below_) {
    // Refuted already; this reporter missed it (lost, or it took this node out meanwhile).
    out.To(report.observer).alives.push_back(Listed(options_.self, incarnation_));
    return;
  }
  if (report.incarnation == UINT64_MAX) return;  // nothing higher to say (a forged report)
  incarnation_ = std::max(incarnation_, report.incarnation) + 1;
  refuted_below_ = incarnation_;
  ++refutations_;
  const Alive alive = Listed(options_.self, incarnation_);
  bool reporter_told = false;
  for (MemberIndex o : graph_->ObserversOf(self_index_)) {
    out.To(graph_->id(o)).alives.push_back(alive);
    reporter_told = reporter_told || graph_->id(o) == report.observer;
  }
  // A reporter that is not an observer took this node out (it says so when this node
  // heartbeats it): it brings it back on this, and tells the cluster.
  if (!reporter_told) out.To(report.observer).alives.push_back(alive);
}

void MembershipNode::Tick(MonoTime now, Outbox& out) {
  PruneContacts(now);
  if (now >= next_heartbeat_) {
    for (MemberIndex o : graph_->ObserversOf(self_index_)) {
      out.heartbeats.push_back(graph_->id(o));
    }
    out.heartbeat_sequence = ++sequence_;
    out.heartbeat_incarnation = incarnation_;
    while (next_heartbeat_ <= now) next_heartbeat_ += options_.interval;
  }
  for (auto& [id, watched] : subjects_) {
    Sink sink;
    watched->monitor->Evaluate(now, event_ids_, sink);
    // Expired: its deadline, if it was missed (a late tick), must not be woken for again.
    if (now >= watched->corroborated_until) watched->corroborated_until = MonoTime::min();
    // Convicted afresh: by its detector alone, or on less silence once corroborated.
    const bool alone =
        std::find(sink.moves.begin(), sink.moves.end(), PeerState::kDown) != sink.moves.end();
    const bool fresh =
        !watched->convicted && (alone || watched->ConvictsCorroborated(options_, now));
    if (fresh) ++convictions_;
    if (fresh && !alone) ++corroborated_convictions_;
    if (!fresh && !(watched->convicted && now >= watched->repeat_at)) continue;
    if (now < abstain_until_) {
      // Lifeguard: a node that may itself have been the slow one votes for nobody. If the
      // subject is still convicted when the doubt ends, it is reported then.
      watched->convicted = true;
      watched->repeat_at = abstain_until_;
      ++abstentions_;
      continue;
    }
    Convict(id, *watched, now, out);
  }
  AskToJoin(now, out);
  SyncStep(now, out);
  AntiEntropy(now, out);
  SettleDisputes(now, out);
  Probe(now, out);
  if (now >= pass_on_at_) SendPassedOn(out);
  ApplyCut(now, out);
  ForgetOldSeen(now);
}

void MembershipNode::ForgetOldSeen(MonoTime now) {
  const Duration keep = options_.cut.report_lifetime;
  while (!seen_order_.empty() && seen_order_.front().first + keep <= now) {
    seen_.erase(seen_order_.front().second);
    seen_order_.pop_front();
  }
  while (!held_.empty() && held_.front().second + keep <= now) {
    held_.pop_front();
  }
  tombstones_.Expire(now);
  ForgetOldLeaves(now);
  while (!returned_.empty() && returned_.front().first + keep <= now) returned_.pop_front();
}

MonoTime MembershipNode::NextWakeup() const {
  MonoTime next = std::min({next_heartbeat_, cut_->NextDeadline(), admit_at_, next_probe_,
                            pass_on_at_, next_join_, sync_.NextDeadline(), next_digest_,
                            NextDisputeDeadline()});
  if (syncing_ && !welcomed_) next = std::min(next, patience_until_);
  for (const auto& [id, watched] : subjects_) {
    if (const auto d = watched->monitor->NextDeadline()) next = std::min(next, *d);
    if (const auto d = watched->CorroboratedDeadline(options_)) {
      next = std::min(next, *d);
    }
    if (watched->convicted) next = std::min(next, watched->repeat_at);
  }
  if (!seen_order_.empty()) {
    next = std::min(next, seen_order_.front().first + options_.cut.report_lifetime);
  }
  return next;
}

}  // namespace vigil::membership
