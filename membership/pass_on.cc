// MembershipNode: the flood (docs/membership.md, "Flooding from L"). What a member passes on
// waits up to pass_on_gather with the rest, then goes out in one Gossip per neighbour, so
// that a burst of news (a mass failure's reports or leaves, a healed partition's comebacks)
// costs a few full datagrams per neighbour instead of one datagram per news and neighbour.
#include "membership/membership_node.h"

namespace vigil::membership {

void MembershipNode::PassOn(const Report& report, std::string_view from, MonoTime now,
                            Outbox& out) {
  reports_to_pass_.emplace_back(report, std::string(from));
  if (pass_on_at_ == kNever) pass_on_at_ = AddSaturated(now, options_.pass_on_gather);
  if (now >= pass_on_at_) SendPassedOn(out);
}

void MembershipNode::PassOn(const Alive& alive, std::string_view from, MonoTime now,
                            Outbox& out, bool leave) {
  alives_to_pass_.emplace_back(alive, std::string(from), leave);
  if (pass_on_at_ == kNever) pass_on_at_ = AddSaturated(now, options_.pass_on_gather);
  if (now >= pass_on_at_) SendPassedOn(out);
}

void MembershipNode::SendPassedOn(Outbox& out) {
  // Both ways along the observer edges: along observers alone, a member all of whose
  // subjects are across a partition (1 in 2^K at 50/50) would hear nothing. To the
  // neighbours it was gathered for: ApplyCut and Leave send it before they change or go,
  // as news sent at once went to the neighbours of then; a neighbour pushed out by a cut
  // would otherwise miss what others passed on to it before, and nobody would pass it on
  // again. Never back to whom it came from, nor to the member an Alive is about (it knows)
  // or the observer that made a report.
  for (const std::string& to : neighbours_) {
    for (const auto& [alive, from, leave] : alives_to_pass_) {
      if (to == from || to == alive.member) continue;
      (leave ? out.To(to).leaves : out.To(to).alives).push_back(alive);
    }
    for (const auto& [report, from] : reports_to_pass_) {
      if (to != from && to != report.observer) out.To(to).reports.push_back(report);
    }
  }
  alives_to_pass_.clear();
  reports_to_pass_.clear();
  pass_on_at_ = kNever;
}

}  // namespace vigil::membership
