// MembershipNode: a change of view (docs/membership.md, "A member", Cuts): the members a cut takes
// out and the members coming in, applied together as one graph change.
#include <algorithm>

#include "membership/membership_node.h"
#include "membership/watched_subject.h"

namespace vigil::membership {

void MembershipNode::ApplyCut(MonoTime now, Outbox& out) {
  std::vector<int> agreed;
  const std::vector<MemberIndex> cut = cut_->TakeCut(now, &agreed);
  std::vector<std::string> gone;
  Agreement agreement;  // keys view graph_'s ids: used (TakeOut) before graph_ changes
  for (std::size_t i = 0; i < cut.size(); ++i) {
    // A node never takes itself out of its own view: it refutes instead, and the others
    // take it back at its new incarnation.
    if (cut[i] == self_index_) continue;
    gone.push_back(graph_->id(cut[i]));
    agreement.emplace(graph_->id(cut[i]),
                      std::pair(agreed[i], static_cast<int>(graph_->ObserversOf(cut[i]).size())));
  }
  const std::vector<Alive> lost = std::move(lost_disputes_);
  lost_disputes_.clear();
  for (const Alive& a : lost) {
    if (graph_->Find(a.member)) gone.push_back(a.member);
  }
  std::sort(gone.begin(), gone.end());
  gone.erase(std::unique(gone.begin(), gone.end()), gone.end());
  std::vector<std::string> added;
  if (now >= admit_at_ && !syncing_) {
    added = std::move(admissions_);
    admissions_.clear();
    admitting_.clear();
    admit_at_ = kNever;
    std::sort(added.begin(), added.end());
    added.erase(std::unique(added.begin(), added.end()), added.end());
  }
  if (gone.empty() && added.empty()) return;
  if (pass_on_at_ != kNever) SendPassedOn(out);  // to the neighbours it was gathered for
  TakeOut(gone, agreement, lost, now);
  const std::unordered_set<std::string> removed(gone.begin(), gone.end());
  cut_.reset();  // it refers to the graph about to be replaced
  graph_ = source_.Changed(graph_, added, gone);
  self_index_ = *graph_->Find(options_.self);
  SetNeighbours();
  cut_ = std::make_unique<CutDetector>(*graph_, options_.cut);
  if (!gone.empty()) ++cuts_;
  prune_contacts_ = true;
  if (added.size() > static_cast<std::size_t>(options_.observers)) {
    AbstainUntil(AddSaturated(now, options_.bulk_abstain));
  }
  for (const std::string& id : added) {
    ++readmissions_;
    if (on_readmitted_) on_readmitted_(id, now);
  }
  TellReturning(added, now, out);
  // Count again what still holds under the new graph: failures in progress go on.
  std::deque<std::pair<Report, MonoTime>> held;
  for (auto& [report, at] : held_) {
    if (removed.contains(report.subject) || removed.contains(report.observer)) continue;
    if (at + options_.cut.report_lifetime <= now) continue;
    if (report.incarnation < KnownIncarnation(report.subject)) continue;
    const auto s = graph_->Find(report.subject);
    const auto o = graph_->Find(report.observer);
    // At the time it came (held_ is in that order), so its lifetime does not start over.
    if (s && o) cut_->Report(*s, *o, at);
    held.emplace_back(std::move(report), at);
  }
  held_ = std::move(held);
  Rewatch(now);
  Recorroborate(now);  // reports from members taken out, or no longer observers, stop counting
}

void MembershipNode::TakeOut(const std::vector<std::string>& gone, const Agreement& agreement,
                             const std::vector<Alive>& lost, MonoTime now) {
  auto incarnations = RemovedIncarnations(gone);
  for (const Alive& a : lost) {
    if (auto it = incarnations.find(a.member); it != incarnations.end()) {
      it->second = std::max(it->second, a.incarnation);
    }
  }
  for (const std::string& id : gone) {
    // Its neighbours when it was taken out probe it: about 2K members, whatever N. Not one
    // that left: nobody is there to come back.
    const std::uint64_t incarnation = incarnations.at(id);
    const bool left = Leaving(id, incarnation, now);
    const bool probe =
        !left && std::find(neighbours_.begin(), neighbours_.end(), id) != neighbours_.end();
    tombstones_.Add(id, incarnation, probe, now);
    if (left) tombstones_.MarkLeft(id, incarnation);
    // How it went, for the API: by agreement (a cut; also when a dispute was lost), else
    // a dispute lost.
    Tombstones::Entry& entry = *tombstones_.Find(id);
    if (const auto it = agreement.find(id); it != agreement.end()) {
      entry.agreed = static_cast<std::uint8_t>(it->second.first);
      entry.observers = static_cast<std::uint8_t>(it->second.second);
    }
    if (const auto it = subjects_.find(id); it != subjects_.end()) {
      entry.last_heartbeat =
          it->second->monitor->detector().last_heartbeat().value_or(MonoTime::min());
    }
    leaving_.erase(id);
    incarnations_.erase(id);  // the tombstone holds it now
    if (on_removed_) on_removed_(id, now);
  }
  if (!gone.empty() && next_probe_ == kNever) {
    next_probe_ = AddSaturated(now, options_.probe_interval);
  }
}

}  // namespace vigil::membership
