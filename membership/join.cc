// MembershipNode: joining through seeds, and helping others join (docs/membership.md,
// "Joining"). A joiner asks a seed to admit it; the seed admits it (the news floods like a
// comeback's) and welcomes it with a census and a sample of members; the joiner pulls the
// member list a slice of buckets at a time from members it has learnt, then applies it as
// one graph change.
#include <algorithm>

#include "membership/gossip_wire.h"
#include "membership/membership_node.h"
#include "membership/mix64.h"

namespace vigil::membership {
namespace {

// Members sampled into a Welcome besides the welcoming member (pull targets for the joiner).
constexpr std::size_t kWelcomeSample = 15;
// At most this many Member records, and Removed and Left records, in one answer to a Pull (for 9-byte
// ids, about 9 and 5 datagrams without contacts, as in the simulator; vigild's 18-byte
// contacts make the members about 17). A joiner plans ranges of about 200 members, and cuts
// a range that comes back short in two.
constexpr std::size_t kMostRemovedListed = 256;

}  // namespace

std::string_view MembershipNode::Contact(std::string_view member) const {
  return member == options_.self ? std::string_view(options_.contact) : contacts_.Find(member);
}

void MembershipNode::LearnContact(const std::string& member, std::string_view contact,
                                  std::uint64_t incarnation) {
  if (member == options_.self || contact.size() > kMaxContactSize) return;
  contacts_.Note(member, contact, incarnation, ContactBook::Source::kGuessed);
}

Alive MembershipNode::Listed(const std::string& id, std::uint64_t incarnation) const {
  return Alive{id, incarnation, std::string(Contact(id))};
}

void MembershipNode::NoteContacts(const Gossip& gossip, std::string_view from) {
  auto note = [this, from](const Alive& a) {
    if (a.member == options_.self) return;
    contacts_.Note(a.member, a.contact, a.incarnation,
                   a.member == from ? ContactBook::Source::kItself
                                    : ContactBook::Source::kListing);
  };
  for (const Alive& a : gossip.joins) {
    if (a.member == from) note(a);  // a member joins for itself alone
  }
  for (const Alive& a : gossip.members) note(a);
  for (const Alive& a : gossip.alives) note(a);
}

void MembershipNode::PruneContacts(MonoTime now) {
  // Between calls (Tick's start): the shell has sent what the last call asked, to
  // members this node may not keep (a puller it does not know, a Join it refused).
  const std::size_t held = graph_->size() + tombstones_.size() + admissions_.size();
  const std::size_t most = 4 * held + 1024;
  if (!prune_contacts_ && contacts_.size() <= most &&
      guard_.size() <= std::max(most, prune_guard_at_)) {
    return;
  }
  prune_contacts_ = false;
  const auto keep = [this](const std::string& id) {
    return graph_->Find(id).has_value() || tombstones_.Find(id) != nullptr ||
           admitting_.contains(id) || disputes_open_.contains(id);
  };
  contacts_.Prune(keep);
  // The numbers seen of a member not held are kept for a tombstone's lifetime after it was
  // last heard: a joiner not admitted yet, a member forgotten since, cannot be replayed to
  // this node meanwhile.
  guard_.Prune(keep, now, options_.tombstone_lifetime);
  prune_guard_at_ = 2 * guard_.size();  // what was kept is not scanned again at every Tick
}

std::uint64_t MembershipNode::NextRandom() {
  // splitmix64: a fixed sequence per node, so that runs repeat.
  return Mix64(probe_state_ += 0x9e3779b97f4a7c15ULL);
}

void MembershipNode::Admit(const Alive& alive, std::string_view from, bool flood, MonoTime now,
                           Outbox& out) {
  incarnations_[alive.member] = std::max(KnownIncarnation(alive.member), alive.incarnation);
  if (admitting_.insert(alive.member).second) admissions_.push_back(alive.member);
  // A member still copying the list applies it whole, when it has it (SyncStep).
  if (!syncing_ && admit_at_ == kNever) admit_at_ = AddSaturated(now, options_.admission_batch);
  if (!flood) return;
  PassOn(alive, from, now, out);
}

void MembershipNode::AskToJoin(MonoTime now, Outbox& out) {
  if (welcomed_ || now < next_join_) return;
  std::vector<const std::string*> seeds;
  for (const std::string& seed : options_.seeds) {
    if (seed != options_.self) seeds.push_back(&seed);
  }
  if (!seeds.empty()) {
    out.To(*seeds[next_seed_++ % seeds.size()]).joins.push_back(
        Listed(options_.self, incarnation_));
  }
  // ±20 %, so that joiners started together do not ask together ever after.
  const auto spread = join_delay_.count() / 5;
  const auto jitter = spread > 0 ? static_cast<Duration::rep>(
                                       NextRandom() % static_cast<std::uint64_t>(2 * spread)) -
                                       spread
                                 : 0;
  next_join_ = AddSaturated(now, join_delay_ + Duration(jitter));
  // Each seed in turn join_retry apart; slower only once all were asked (seeds that are
  // not up yet cost nothing, and one of them may be up in a moment).
  if (seeds.empty() || next_seed_ % seeds.size() == 0) {
    join_delay_ = std::min(join_delay_ * 2, options_.join_retry_max);
  }
}

void MembershipNode::SyncStep(MonoTime now, Outbox& out) {
  if (syncing_ && !welcomed_ && now >= patience_until_) {
    // Nobody answered: the first of a cluster. It is a member now, of itself and of whoever
    // joined through it, and it goes on asking its seeds.
    syncing_ = false;
    patience_until_ = kNever;
    if (!admissions_.empty()) admit_at_ = now;
  }
  if (!sync_.planned()) return;
  for (auto& [to, pull] : sync_.Due(now, [this] { return RandomMember(); })) {
    out.To(to).pulls.push_back(pull);
  }
  if (syncing_ && sync_.done()) {
    syncing_ = false;
    if (!admissions_.empty()) admit_at_ = now;
  }
}

std::string MembershipNode::RandomMember() {
  const std::size_t pending = admissions_.size();
  const std::size_t total = pending + graph_->size();
  for (int tries = 0; tries < 4 && total > 1; ++tries) {
    const std::size_t n = NextRandom() % total;
    const std::string& id =
        n < pending ? admissions_[n] : graph_->id(static_cast<MemberIndex>(n - pending));
    if (id != options_.self) return id;
  }
  return "";
}

bool MembershipNode::ListingAllowed(MonoTime now) {
  if (now >= AddSaturated(listing_window_, std::chrono::seconds(1))) {
    listing_window_ = now;
    listings_in_window_ = 0;
  }
  if (listings_in_window_ >= options_.listings_per_second) {
    ++listings_refused_;
    return false;
  }
  ++listings_in_window_;
  return true;
}

void MembershipNode::OnJoin(const Alive& join, std::string_view from, MonoTime now,
                            Outbox& out) {
  // A member joins for itself alone (its Join is signed with the cluster's key, not its own).
  if (join.member != from || join.member == options_.self || !ListingAllowed(now)) return;
  ++joins_answered_;
  Learn(join, from, now, out);  // admitted, and the cluster told; or known already
  Gossip& welcome = out.To(join.member);
  const auto count = static_cast<std::uint32_t>(graph_->size() + admissions_.size());
  welcome.censuses.push_back(Census{true, 0, 255, count});
  welcome.members.push_back(Listed(options_.self, incarnation_));
  // One datagram, the census with it: as many sampled as fit (long ids and contacts fit
  // fewer than kWelcomeSample).
  std::size_t room = kMaxMembershipDatagram - kMembershipHeaderSize - options_.self.size() -
                     kMembershipTrailerSize - kCensusRecordSize -
                     AliveRecordSize(welcome.members[0]);
  std::unordered_set<std::string> sampled{options_.self, join.member};
  for (std::size_t n = 0; n < 2 * kWelcomeSample && sampled.size() < kWelcomeSample + 2; ++n) {
    std::string id = RandomMember();
    if (id.empty() || !sampled.insert(id).second) continue;
    Alive listed = Listed(id, std::max<std::uint64_t>(1, NewestIncarnation(id)));
    if (AliveRecordSize(listed) > room) break;
    room -= AliveRecordSize(listed);
    welcome.members.push_back(std::move(listed));
  }
}

void MembershipNode::OnPull(const Pull& pull, std::string_view from, MonoTime now,
                            Outbox& out) {
  if (from == options_.self || !ListingAllowed(now)) return;
  ++pulls_answered_;
  Gossip& answer = out.To(std::string(from));
  // Limits of this answer alone: the outbox may hold others for the same member.
  const std::size_t most_members = answer.members.size() + kMostListed;
  std::size_t removed_listed = 0;
  std::uint32_t count = 0;
  auto list = [&](const std::string& id) {
    ++count;
    if (answer.members.size() >= most_members) return;  // the census says how many there are
    const std::uint64_t incarnation = id == options_.self ? incarnation_ : NewestIncarnation(id);
    answer.members.push_back(Listed(id, std::max<std::uint64_t>(1, incarnation)));
  };
  for (MemberIndex m : graph_->InBuckets(pull.first, pull.last)) list(graph_->id(m));
  for (const std::string& id : admissions_) {
    const std::uint8_t bucket = BucketOf(id);
    if (bucket >= pull.first && bucket <= pull.last) list(id);
  }
  // Only this node's own removals: a tombstone learnt from a listing is not listed on, so
  // that none goes round for ever, each copy starting its lifetime again.
  tombstones_.ForEach([&](const std::string& id, const Tombstones::Entry& entry) {
    if (entry.learnt || entry.bucket < pull.first || entry.bucket > pull.last) return;
    if (removed_listed++ < kMostRemovedListed) {
      (entry.left ? answer.left : answer.removed).push_back(Alive{id, entry.incarnation});
    }
  });
  answer.censuses.push_back(Census{false, pull.first, pull.last, count});
}

void MembershipNode::OnListing(const Gossip& gossip, std::string_view from, MonoTime now,
                               Outbox& out) {
  for (const Census& census : gossip.censuses) {
    if (!census.welcome) {
      sync_.OnCensus(from, census);
      continue;
    }
    welcomed_ = true;
    next_join_ = kNever;
    patience_until_ = kNever;
    sync_.Plan(census.count);
  }
  for (const Alive& removed : gossip.removed) LearnRemoved(removed, false, now, out);
  for (const Alive& left : gossip.left) LearnRemoved(left, true, now, out);
  // A Welcome's sample (one datagram with its census) answers no pull.
  const bool welcome = std::any_of(gossip.censuses.begin(), gossip.censuses.end(),
                                   [](const Census& c) { return c.welcome; });
  for (const Alive& member : gossip.members) {
    if (!welcome) sync_.OnMember(from, BucketOf(member.member));
    LearnListed(member, from, now, out);
  }
  if (!gossip.censuses.empty() || !gossip.members.empty()) SyncStep(now, out);
}

void MembershipNode::LearnListed(const Alive& member, std::string_view from, MonoTime now,
                                 Outbox& out) {
  if (member.member == options_.self) return;
  if (Tombstones::Entry* removed = tombstones_.Find(member.member)) {
    // A listing names a member whose incarnation its sender does not know as 1 (OnPull, the
    // Welcome): not newer than a member taken out at an incarnation unknown here (0). Else a
    // member that had not taken it out yet, listing it a moment after this one did, would
    // bring it back; a real comeback comes with a refutation's higher incarnation.
    if (member.incarnation <= std::max<std::uint64_t>(1, removed->incarnation)) return;
    if (!syncing_) {  // a comeback, as any other (passed on, and told to those added back)
      Readmit(member, from, now, out);
      return;
    }
    tombstones_.Erase(member.member);
  } else if (graph_->Find(member.member)) {
    return;
  }
  // A joiner copying the list passes nothing on: it has no neighbours yet, and the cluster
  // knows these members. A member that learns by anti-entropy what a flood should have
  // brought it passes it on: else the flood, arriving later, would stop here as old news.
  Admit(member, from, !syncing_, now, out);
}

void MembershipNode::LearnRemoved(const Alive& removed, bool left, MonoTime now,
                                   Outbox& out) {
  // Nothing is newer than 2^64 - 1: such a tombstone could never be undone, by a refutation
  // or a restart. Only a forged record says it.
  if (removed.member == options_.self || removed.incarnation == UINT64_MAX) return;
  if (graph_->Find(removed.member)) {  // held here: a removal missed, or a stale one
    Dispute(removed, now, out);
    // Not news (its leave went round when it left): only the label of the removal the
    // dispute may end in.
    if (left) RememberLeave(removed, now);
    return;
  }
  if (admitting_.contains(removed.member)) {
    if (KnownIncarnation(removed.member) > removed.incarnation) return;  // back since
    admitting_.erase(removed.member);
    admissions_.erase(std::find(admissions_.begin(), admissions_.end(), removed.member));
    incarnations_.erase(removed.member);
  }
  // A tombstone held is kept as it is (a listing must not keep one alive past its time; a
  // Left record of its incarnation labels it), and learnt ones are bounded.
  if (tombstones_.Find(removed.member) != nullptr) {
    if (left) tombstones_.MarkLeft(removed.member, removed.incarnation);
    return;
  }
  if (tombstones_.size() >= options_.most_tombstones) {
    ++tombstones_refused_;
    return;
  }
  tombstones_.Add(removed.member, removed.incarnation, false, now, true);
  if (left) tombstones_.MarkLeft(removed.member, removed.incarnation);
}

}  // namespace vigil::membership
