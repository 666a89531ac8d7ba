// MembershipNode: heartbeats received (docs/membership.md, "A member" and "vigild as a
// member"). A subject's go to its detector once each; any other member's are news of it
// (membership/rejoin.cc).
#include <algorithm>

#include "membership/membership_node.h"
#include "membership/watched_subject.h"

namespace vigil::membership {

void MembershipNode::OnHeartbeat(std::string_view from, std::uint64_t incarnation,
                                 std::uint64_t sequence, MonoTime now, Outbox& out,
                                 std::string_view contact) {
  const std::string sender(from);
  const auto it = subjects_.find(sender);
  if (it == subjects_.end()) {  // not watched here under this node's view
    LearnContact(sender, contact, incarnation);
    HeartbeatFromStranger(sender, incarnation, now, out);
    return;
  }
  Subject& watched = *it->second;
  // Sequence numbers mean something within one incarnation: an older one's heartbeat is
  // stale, and a number seen (or below the window) is a duplicate or a replay. A reordered
  // one (late) carries no news: the detector learns intervals between arrivals of news.
  if (incarnation < watched.sequence_incarnation) {
    ++heartbeats_refused_;
    return;
  }
  if (incarnation > watched.sequence_incarnation) {
    watched.sequence_incarnation = incarnation;
    watched.sequences.Reset();
  }
  const SequenceTracker::Result seen = watched.sequences.Observe(sequence);
  if (seen != SequenceTracker::Result::kNew) {
    if (seen == SequenceTracker::Result::kOld) ++heartbeats_refused_;
    return;
  }
  if (!contact.empty() && contact.size() <= kMaxContactSize) {
    contacts_.Note(sender, contact, incarnation, ContactBook::Source::kHeard);
  }
  Sink sink;
  if (watched.monitor->OnHeartbeat(now, incarnation, event_ids_, sink, sequence) !=
      Verdict::kAccepted) {
    return;
  }
  // Heard: the silence another observer reported is broken here (docs/membership.md,
  // "Corroboration").
  watched.corroborated_until = MonoTime::min();
  // Back up, or never down (convicted on corroboration, then heard): it is not convicted.
  if (watched.monitor->state() != PeerState::kDown) {
    watched.convicted = false;
    watched.repeat_at = kNever;
  }
}

}  // namespace vigil::membership
