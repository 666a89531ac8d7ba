// MembershipNode: a change of view (docs/membership.md, "A member", Cuts): the members a cut takes
// out and the members coming in, applied together as one graph change.
#include <algorithm>

#include "membership/membership_node.h"

namespace vigil::membership {

void MembershipNode::ApplyCut(MonoTime now, Outbox& out) {
  const std::vector<MemberIndex> cut = cut_->TakeCut(now);
  std::vector<std::string> gone;
  for (MemberIndex m : cut) {
    // A node never takes itself out of its own view: it refutes instead, and the others
    // take it back at its new incarnation.
    if (m == self_index_) continue;
    gone.push_back(graph_->id(m));
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
    leaving_.erase(id);
    incarnations_.erase(id);  // the tombstone holds it now
    if (on_removed_) on_removed_(id, now);
  }
  if (!gone.empty() && next_probe_ == kNever) {
    next_probe_ = AddSaturated(now, options_.probe_interval);
  }
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
}

}  // namespace vigil::membership
