// MembershipNode: what comes in, checked for freshness before it is taken
// (docs/membership.md, "Replays"). The shell authenticates; ReplayGuard tells a datagram
// meant for this run of this node, and not seen before, from a recorded one sent again.
#include <algorithm>

#include "membership/membership_node.h"

namespace vigil::membership {
namespace {

// An unconfirmed datagram's sender is answered at most this often: twice a second, so that
// a joiner's retries (join_retry, 1 s, less 20 %) are each answered.
constexpr Duration kAnswerRepeat = std::chrono::milliseconds(500);

}  // namespace

Freshness MembershipNode::ReceiveGossip(const Gossip& gossip, std::string_view from,
                                        const Stamp& stamp, MonoTime now, Outbox& out,
                                        std::string_view contact) {
  const std::string sender(from);
  const Freshness verdict = guard_.Check(Stream::kGossip, sender, stamp, incarnation_, now);
  if (verdict != Freshness::kFresh) {
    ++refused_[static_cast<std::size_t>(Stream::kGossip)][static_cast<std::size_t>(verdict)];
  }
  if (verdict == Freshness::kOldSequence) return verdict;
  if (verdict == Freshness::kUnconfirmed) {
    Unconfirmed(sender, stamp, now, out, contact);
    return verdict;
  }
  LearnContact(sender, contact, stamp.incarnation);  // a guess, for a member nothing placed
  OnGossip(gossip, from, now, out);
  // A joiner's Join to a seed (which it knows by its address alone) echoes nothing, and is
  // answered with the seed's Alive: now it can ask that member with the echo, at once.
  if (!welcomed_ && sender != options_.self &&
      std::any_of(gossip.alives.begin(), gossip.alives.end(),
                  [&](const Alive& a) { return a.member == sender; })) {
    out.To(sender).joins.push_back(Listed(options_.self, incarnation_));
  }
  return verdict;
}

Freshness MembershipNode::ReceiveHeartbeat(std::string_view from, const Stamp& stamp,
                                           MonoTime now, Outbox& out,
                                           std::string_view contact) {
  const std::string sender(from);
  const Freshness verdict = guard_.Check(Stream::kHeartbeat, sender, stamp, incarnation_, now);
  switch (verdict) {
    case Freshness::kFresh:
      OnHeartbeat(from, stamp.incarnation, stamp.sequence, now, out, contact);
      break;
    case Freshness::kUnconfirmed:
      Unconfirmed(sender, stamp, now, out, contact);
      [[fallthrough]];
    case Freshness::kOldSequence:
      ++refused_[static_cast<std::size_t>(Stream::kHeartbeat)]
                [static_cast<std::size_t>(verdict)];
      break;
  }
  return verdict;
}

std::uint64_t MembershipNode::EchoFor(const std::string& to) const {
  if (to == options_.self) return incarnation_;
  std::uint64_t known = std::max(NewestIncarnation(to), guard_.Heard(to));
  if (const Tombstones::Entry* removed = tombstones_.Find(to)) {
    known = std::max(known, removed->incarnation);  // a notice or a probe goes to it
  }
  if (known > 0) return known;
  return graph_->Find(to).has_value() ? 1 : 0;
}

Stamp MembershipNode::StampFor(const std::string& to) const {
  return Stamp{incarnation_, guard_.NextNumber(to), EchoFor(to)};
}

void MembershipNode::Unconfirmed(const std::string& sender, const Stamp& stamp, MonoTime now,
                                 Outbox& out, std::string_view contact) {
  if (sender == options_.self || !guard_.MayAnswer(sender, now, kAnswerRepeat)) return;
  ++unconfirmed_answered_;
  // Where to answer a member nothing placed; never where a member already is: the datagram
  // may be a copy sent from elsewhere.
  if (Contact(sender).empty()) LearnContact(sender, contact, stamp.incarnation);
  // The sender knows a newer incarnation of this node than it has: an earlier run of it
  // had one (its clock went back). It refutes above it, as if reported there, so that the
  // members' echoes and its own agree again; what echoes that earlier run is not its own.
  if (stamp.echo > incarnation_ && stamp.echo < UINT64_MAX - 1) {
    Refute(Report{sender, options_.self, stamp.echo, 0}, now, out);
    guard_.set_first(incarnation_);
    return;
  }
  // A member that restarted is one the others still know at its old incarnation; a member
  // that started a cluster alone is one they may never hear of otherwise. Either way the
  // answer is what it would say of itself: its Alive.
  out.To(sender).alives.push_back(Listed(options_.self, incarnation_));
}

}  // namespace vigil::membership
