// MembershipNode: leaving (docs/membership.md, "Leaving"). A member that stops says so to
// its neighbours, who flood it; its observers report it at once, as Rapid's observers do
// on a leave, so that the same cut takes it out everywhere, and each member that heard it
// remembers it as left rather than down.
#include <algorithm>

#include "membership/membership_node.h"
#include "membership/watched_subject.h"

namespace vigil::membership {

void MembershipNode::Leave(Outbox& out) {
  // A member still copying the list has no neighbours; the members that welcomed it will
  // find it gone the usual way.
  const Alive leave{options_.self, incarnation_};
  if (pass_on_at_ != kNever) SendPassedOn(out);  // what it gathered is not lost with it
  for (const std::string& to : neighbours_) out.To(to).leaves.push_back(leave);
}

void MembershipNode::LearnLeave(const Alive& leave, std::string_view from, MonoTime now,
                                Outbox& out) {
  // A leave in this node's name is forged or stale: its observers report it, and it
  // refutes those reports as any others. Nothing is newer than 2^64 - 1: a leave there
  // could never be refuted (only a forged record says it).
  if (leave.member == options_.self || leave.incarnation == UINT64_MAX) return;
  // Taken out already (its detectors were quicker, or a listing said so): only the label.
  if (tombstones_.MarkLeft(leave.member, leave.incarnation)) return;
  if (tombstones_.Holds(leave.member) || !graph_->Find(leave.member)) return;
  if (leave.incarnation < NewestIncarnation(leave.member)) return;  // it came back since
  if (!RememberLeave(leave, now)) return;
  PassOn(leave, from, now, out, /*leave=*/true);
  // Its word is enough for its observers: no detector to wait for, and nothing to doubt in
  // this node's own health (so no abstaining). Reported once: the cut comes within
  // max_hold, well inside the report's lifetime; if it does not (too few observers heard
  // it), the detectors convict the silent member as they would a crash. A member that did
  // not leave (a forged leave) refutes the report, as any other.
  if (const auto it = subjects_.find(leave.member); it != subjects_.end()) {
    SendReport(leave.member, *it->second, leave.incarnation, now, out);
  }
}

bool MembershipNode::RememberLeave(const Alive& leave, MonoTime now) {
  // One leave per member per report_lifetime, unless the member has shown a newer
  // incarnation since (it refuted a forged one): leaves of rising incarnations must not
  // make one datagram flood the cluster again and again.
  if (const auto it = leaving_.find(leave.member);
      it != leaving_.end() && it->second.at + options_.cut.report_lifetime > now &&
      NewestIncarnation(leave.member) <= it->second.incarnation) {
    return false;
  }
  leaving_[leave.member] = LeaveHeard{leave.incarnation, now};
  leaving_order_.emplace_back(now, leave.member);
  return true;
}

bool MembershipNode::Leaving(const std::string& id, std::uint64_t incarnation,
                             MonoTime now) const {
  const auto it = leaving_.find(id);
  return it != leaving_.end() && it->second.incarnation >= incarnation &&
         it->second.at + options_.cut.report_lifetime > now;
}

void MembershipNode::ForgetOldLeaves(MonoTime now) {
  // As long as the reports it caused: past that, the cut did not happen, and a later
  // removal is the detectors' (down).
  const Duration keep = options_.cut.report_lifetime;
  while (!leaving_order_.empty() && leaving_order_.front().first + keep <= now) {
    const auto& [at, id] = leaving_order_.front();
    // An entry erased, or heard again since, is not this one.
    if (const auto it = leaving_.find(id); it != leaving_.end() && it->second.at == at) {
      leaving_.erase(it);
    }
    leaving_order_.pop_front();
  }
}

bool MembershipNode::left(const std::string& id) const {
  const Tombstones::Entry* e = tombstones_.Find(id);
  return e != nullptr && e->left;
}

}  // namespace vigil::membership
