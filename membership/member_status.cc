// MembershipNode::StatusOf and Counts: what the API shows of the members
// (membership/member_status.h).
#include "membership/member_status.h"

#include <array>

#include "membership/membership_node.h"
#include "membership/watched_subject.h"

namespace vigil::membership {
namespace {

constexpr std::array<std::string_view, kMemberStateCount> kStateNames = {"up", "suspect",
                                                                          "down", "left"};

// The status of a member taken out, from its tombstone.
MemberStatus TakenOut(const Tombstones::Entry& e) {
  MemberStatus s;
  s.state = e.left ? MemberState::kLeft : MemberState::kDown;
  s.incarnation = e.incarnation;
  if (e.learnt) {
    s.provenance = Provenance::kListing;
  } else if (e.observers > 0) {
    s.provenance = Provenance::kAgreement;  // a dispute lost in the same cut counts less
    s.reports = e.agreed;
    s.observers = e.observers;
  } else {
    s.provenance = Provenance::kDispute;
  }
  if (e.last_heartbeat != MonoTime::min()) s.last_heartbeat = e.last_heartbeat;
  return s;
}

}  // namespace

std::string_view MemberStateName(MemberState state) {
  return kStateNames[static_cast<std::size_t>(state)];
}

std::optional<MemberState> ParseMemberState(std::string_view name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<MemberState>(i);
  }
  return std::nullopt;
}

std::string_view ProvenanceName(Provenance provenance) {
  static constexpr std::array<std::string_view, 6> kNames = {
      "self", "watched", "view", "agreement", "dispute", "listing"};
  return kNames[static_cast<std::size_t>(provenance)];
}

std::optional<MemberStatus> MembershipNode::StatusOf(const std::string& id) const {
  // A member is held or taken out, never both, but for the moment between its removal and
  // the new graph (ApplyCut's callbacks): the removal is the news then.
  if (const Tombstones::Entry* e = tombstones_.Find(id)) return TakenOut(*e);
  const auto index = graph_->Find(id);
  if (!index) return std::nullopt;
  MemberStatus s;
  s.incarnation = IncarnationOf(id);
  s.reports = cut_->EffectiveReports(*index);
  s.observers = static_cast<int>(graph_->ObserversOf(*index).size());
  if (cut_->Failing(*index)) s.state = MemberState::kSuspect;
  if (id == options_.self) {
    s.provenance = Provenance::kSelf;
  } else if (const auto it = subjects_.find(id); it != subjects_.end()) {
    s.provenance = Provenance::kWatched;
    s.last_heartbeat = it->second->monitor->detector().last_heartbeat();
  }
  return s;
}

ClusterCounts MembershipNode::Counts() const {
  ClusterCounts c;
  c.members = graph_->size();
  c.suspect = cut_->unstable_count() + cut_->stable_count();
  c.watched = subjects_.size();
  tombstones_.ForEach([&](const std::string&, const Tombstones::Entry& e) {
    ++(e.left ? c.left : c.down);
  });
  return c;
}

}  // namespace vigil::membership
