// MembershipNode: disputes (docs/membership.md, "Anti-entropy"). A listing says a member
// this node holds was taken out. Either this node missed the removal (its reports were
// lost) or the removal is stale (the member came back, and the lister has not heard).
// Taking the listing's word would let one member's stale tombstones take live members out
// everywhere; ignoring it would keep a dead member forever. So this node asks the member:
// it sends it a report about itself, which a live member refutes with a newer incarnation
// (to this node, the reporter). No newer incarnation within dispute_wait, and not heard at
// one by this node's own detector: the member is taken out here.
#include <algorithm>

#include "membership/membership_node.h"

namespace vigil::membership {

void MembershipNode::Dispute(const Alive& removed, MonoTime now, Outbox& out) {
  if (removed.incarnation < NewestIncarnation(removed.member)) return;  // newer than that
  if (disputes_open_.contains(removed.member) ||
      disputes_open_.size() >= options_.disputes_open) {
    return;
  }
  ++disputes_;
  disputes_open_.emplace(removed.member,
                         OpenDispute{removed.incarnation, now,
                                     AddSaturated(now, options_.dispute_wait), 0});
  SettleDisputes(now, out);
}

void MembershipNode::SettleDisputes(MonoTime now, Outbox& out) {
  for (auto it = disputes_open_.begin(); it != disputes_open_.end();) {
    const std::string& id = it->first;
    OpenDispute& dispute = it->second;
    if (!graph_->Find(id) || NewestIncarnation(id) > dispute.incarnation) {  // out, or alive
      it = disputes_open_.erase(it);
      continue;
    }
    if (now >= dispute.decide_at) {
      lost_disputes_.push_back(Alive{id, dispute.incarnation});
      ++disputes_lost_;
      it = disputes_open_.erase(it);
      continue;
    }
    if (now >= dispute.next_notice) {
      out.To(id).reports.push_back(
          Report{options_.self, id, dispute.incarnation, kFirstDisputeRound + dispute.notices++});
      ++notices_sent_;
      dispute.next_notice =
          AddSaturated(now, std::max(options_.dispute_wait / 3, Duration(1)));
    }
    ++it;
  }
}

MonoTime MembershipNode::NextDisputeDeadline() const {
  MonoTime next = kNever;
  for (const auto& [id, dispute] : disputes_open_) {
    next = std::min({next, dispute.next_notice, dispute.decide_at});
  }
  return next;
}

}  // namespace vigil::membership
