// MembershipNode: members taken out, and how they come back (docs/membership.md, "Coming
// back"). A node that was stopped for long enough is taken out by every other member; once
// it runs again, its heartbeats reach observers that took it out, they tell it so, it
// refutes with a newer incarnation, and that incarnation brings it back everywhere.
#include <algorithm>

#include "membership/membership_node.h"

namespace vigil::membership {

void MembershipNode::HeartbeatFromStranger(const std::string& from, std::uint64_t incarnation,
                                           MonoTime now, Outbox& out) {
  Tombstones::Entry* removed = tombstones_.Find(from);
  if (removed == nullptr) {
    // A member this node does not watch; or one it does not know at all, which joined and
    // whose news was lost on the way here: its heartbeat (authenticated) is news enough.
    if (graph_->Find(from) || incarnation <= KnownIncarnation(from)) return;
    Admit(Listed(from, incarnation), "", true, now, out);
    return;
  }
  if (incarnation > removed->incarnation) {
    // Alive, and newer than what was taken out: nothing stale can say that.
    Readmit(Listed(from, incarnation), "", now, out);
    return;
  }
  // Alive at the incarnation taken out (a stopped node that runs again), or a heartbeat
  // that was on its way: a report about itself makes a live sender refute.
  Notify(from, NoticeCause::kHeard, now, out);
}

void MembershipNode::Notify(const std::string& member, NoticeCause cause, MonoTime now,
                            Outbox& out) {
  Tombstones::Entry* removed = tombstones_.Find(member);
  if (removed == nullptr) return;
  // Probes and answers are limited apart: probes sent while a partition lasted, all lost,
  // must not hold back the answer to the first heartbeat that crosses once it heals.
  MonoTime& last = cause == NoticeCause::kProbe ? removed->probed_at : removed->notified_at;
  if (now < AddSaturated(last, options_.notice_repeat)) return;
  last = now;
  ++notices_sent_;
  // Each notice is a new round, so that a member that missed one does not ignore the next
  // as seen; from kFirstNoticeRound up, which this node's convictions never reach.
  out.To(member).reports.push_back(Report{options_.self, member, removed->incarnation,
                                          kFirstNoticeRound + removed->notices++});
}

void MembershipNode::Probe(MonoTime now, Outbox& out) {
  if (now < next_probe_) return;
  if (tombstones_.probe_count() == 0) {
    next_probe_ = kNever;
    return;
  }
  const std::uint64_t z = NextRandom();
  // One drawn probed recently is not probed again, and nobody else is drawn in its place.
  Notify(tombstones_.probed_id(z % tombstones_.probe_count()), NoticeCause::kProbe, now, out);
  while (next_probe_ <= now) next_probe_ = AddSaturated(next_probe_, options_.probe_interval);
}

bool MembershipNode::AliveAfterRemoval(const Alive& alive, std::string_view from, MonoTime now,
                                       Outbox& out) {
  Tombstones::Entry* removed = tombstones_.Find(alive.member);
  if (removed == nullptr) return false;
  // Not newer than what was taken out: a late refutation, void.
  if (alive.incarnation > removed->incarnation) Readmit(alive, from, now, out);
  return true;
}

void MembershipNode::Readmit(const Alive& alive, std::string_view from, MonoTime now,
                             Outbox& out) {
  tombstones_.Erase(alive.member);
  returned_.emplace_back(now, alive);
  // Every member took it out, so every member must hear that it is back: this floods,
  // gathered with the others coming back.
  Admit(alive, from, true, now, out);
}

void MembershipNode::TellReturning(const std::vector<std::string>& added, MonoTime now,
                                   Outbox& out) {
  // Members that were out together (stopped at once, say) miss each other's floods, which
  // went round while they were out of every graph. Their new neighbours tell them: of the
  // latest ones, so that what one member sends another stays bounded. (After a partition
  // heals, the members of the other side never took each other out; each comes back by
  // its own notice.)
  constexpr std::size_t kMostTold = 64;
  const std::size_t first = returned_.size() > kMostTold ? returned_.size() - kMostTold : 0;
  for (const std::string& id : added) {
    if (std::find(neighbours_.begin(), neighbours_.end(), id) == neighbours_.end()) continue;
    for (std::size_t n = first; n < returned_.size(); ++n) {
      const Alive& alive = returned_[n].second;
      // Not one taken out again since: it would bring back a member that died.
      if (alive.member == id || tombstones_.Find(alive.member) != nullptr) continue;
      if (returned_[n].first + options_.cut.report_lifetime <= now) continue;
      out.To(id).alives.push_back(alive);
    }
  }
}

}  // namespace vigil::membership
