// What members tell each other besides heartbeats: reports (an observer convicts a subject)
// and refutations (a member is alive at a newer incarnation). MembershipNode makes and
// consumes them; membership/gossip_wire.h puts them on the wire (docs/membership.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::membership {

// "`observer` convicts `subject`'s `incarnation`", the `round`-th time it says so (a repeat
// has a higher round, so that nodes forward it again and its lifetime starts over everywhere).
struct Report {
  std::string observer;
  std::string subject;
  std::uint64_t incarnation = 0;
  std::uint32_t round = 0;
  bool operator==(const Report&) const = default;
};

// "`member` is alive at `incarnation`": a refutation (SWIM). A member that learns it is
// reported raises its incarnation and says so; every report of an older incarnation is void.
// `contact` says where the member is, for the shell (opaque to the core: vigild's is an
// address and port, docs/membership.md; empty if not known), at most kMaxContactSize bytes.
struct Alive {
  std::string member;
  std::uint64_t incarnation = 0;
  std::string contact = {};
  bool operator==(const Alive&) const = default;
};
inline constexpr std::size_t kMaxContactSize = 32;

// Rounds of notices (a report that tells a member it was taken out, docs/membership.md,
// "Coming back") count from here, so that they never repeat an observer's conviction of the
// same incarnation: those count from 1 and, one each 4 s, would need 272 years to get here.
inline constexpr std::uint32_t kFirstNoticeRound = 1u << 31;
// ... and the notices of a dispute (membership/dispute.cc) from here, apart from those.
inline constexpr std::uint32_t kFirstDisputeRound = kFirstNoticeRound + (1u << 30);

// "Send me the live members and the tombstones in buckets `first` .. `last`" (inclusive;
// a member's bucket is BucketOf(id), membership/ring_position.h): how a joining member
// learns the member list, a slice at a time, from many members (docs/membership.md,
// "Joining").
struct Pull {
  std::uint8_t first = 0;
  std::uint8_t last = 255;
  bool operator==(const Pull&) const = default;
};

// A Pull's answer lists at most this many members (its census counts them all).
inline constexpr std::uint32_t kMostListed = 512;

// "I hold `count` live members in buckets `first` .. `last`": sent with the Member records
// of those buckets in answer to a Pull, or (`welcome`) with a sample of them in answer to a
// Join, where first .. last is 0 .. 255.
struct Census {
  bool welcome = false;
  std::uint8_t first = 0;
  std::uint8_t last = 255;
  std::uint32_t count = 0;
  bool operator==(const Census&) const = default;
};

// "My member list holds `count` live members, and the sum of their hashes is `root`" (a
// member's hash is RingPosition(0, id)): anti-entropy's opening. A member whose own differs
// answers with its Summary.
struct Digest {
  std::uint32_t count = 0;
  std::uint64_t root = 0;
  bool operator==(const Digest&) const = default;
};

// Per bucket from `first` on: the low 32 bits of the sum of the hashes of the live members
// in it, and how many there are. The receiver pulls the buckets where its own differ and,
// if `answer_back`, sends its own Summary so that the sender pulls too.
struct Summary {
  struct Bucket {
    std::uint32_t sum = 0;
    std::uint16_t count = 0;
    bool operator==(const Bucket&) const = default;
  };
  bool answer_back = false;
  std::uint8_t first = 0;
  std::vector<Bucket> buckets;  // 1 .. 128 of them, first + size <= 256
  bool operator==(const Summary&) const = default;
};

// What one node tells another in one go (the shell cuts it into datagrams).
// (Each member has an initializer, so that `Gossip{.pulls = {...}}` names only what it sets.)
struct Gossip {
  std::vector<Report> reports = {};
  std::vector<Alive> alives = {};     // news: flooded
  std::vector<Alive> joins = {};      // "admit me": the sender itself, at its incarnation
  std::vector<Alive> members = {};    // a listing (Welcome, Pull answer): not flooded on
  std::vector<Alive> removed = {};    // a listing's tombstones: taken out at that incarnation
  // "`member` leaves at `incarnation`": said by the member itself as it stops; news,
  // flooded. No contact.
  std::vector<Alive> leaves = {};
  // A listing's tombstones of members that left (as `removed`, and they left). No contact.
  std::vector<Alive> left = {};
  std::vector<Pull> pulls = {};
  std::vector<Census> censuses = {};
  std::vector<Digest> digests = {};
  std::vector<Summary> summaries = {};
  bool operator==(const Gossip&) const = default;
  // Appends each kind of `other`'s records to this one's (a Gossip put back together from
  // the datagrams SplitGossip cut it into).
  void Append(const Gossip& other) {
    auto append = [](auto& to, const auto& from) {
      to.insert(to.end(), from.begin(), from.end());
    };
    append(reports, other.reports);
    append(alives, other.alives);
    append(joins, other.joins);
    append(members, other.members);
    append(removed, other.removed);
    append(leaves, other.leaves);
    append(left, other.left);
    append(pulls, other.pulls);
    append(censuses, other.censuses);
    append(digests, other.digests);
    append(summaries, other.summaries);
  }
  bool empty() const { return records() == 0; }
  std::size_t records() const {
    return reports.size() + alives.size() + joins.size() + members.size() + removed.size() +
           leaves.size() + left.size() + pulls.size() + censuses.size() + digests.size() +
           summaries.size();
  }
};

}  // namespace vigil::membership
