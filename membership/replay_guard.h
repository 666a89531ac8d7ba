// Which membership datagrams and member heartbeats are fresh (docs/membership.md,
// "Replays"). A datagram is stamped with its sender's incarnation, its number, and the echo:
// the receiver's incarnation as the sender knows it. The echo ties it to one receiver and
// one run of that receiver (each run starts at a higher incarnation), and the numbers seen,
// kept per sender, refuse a second copy within the run. So a datagram recorded on the
// network and sent again (to its receiver, to another member, or after a restart) is
// refused, within the limits docs/membership.md states.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/string_hash.h"
#include "base/time.h"
#include "detector/sequence_tracker.h"

namespace vigil::membership {

// What a datagram says of when and for whom it was sent.
struct Stamp {
  std::uint64_t incarnation = 0;  // the sender's
  std::uint64_t sequence = 0;     // its number (per stream: see ReplayGuard)
  std::uint64_t echo = 0;         // the receiver's incarnation as the sender knows it; 0: none
};

enum class Freshness : std::uint8_t {
  kFresh,        // to be taken
  kUnconfirmed,  // its echo names no incarnation of this receiver's run
  kOldSequence,  // its number was seen (a duplicate or a replay) or is 64 or more below the
                 // highest seen, or its sender has a newer incarnation
};
inline constexpr std::size_t kFreshnessCount = 3;

// Membership datagrams and heartbeats are numbered apart: a sender's two streams.
enum class Stream : std::uint8_t { kGossip, kHeartbeat };
inline constexpr std::size_t kStreamCount = 2;

// Not thread-safe. Keeps, per member this node hears from or sends to: the newest
// incarnation it stamped, the numbers seen in it per stream (a 64-wide window below the
// highest, as protocol.md's), and the number of the last membership datagram sent to it.
class ReplayGuard {
 public:
  // `first`: the receiver's first incarnation in this run (> 0). Echoes from `first` up to
  // its current incarnation are its own.
  explicit ReplayGuard(std::uint64_t first) : first_(first) {}
  // From now on only echoes from `first` up are this node's (it refuted above an earlier
  // run's incarnation: echoes of that run are not of this one).
  void set_first(std::uint64_t first) { first_ = first; }

  // Checks a datagram of `sender` on `stream`, already authenticated, received at `now`;
  // `current`: this node's incarnation now. Notes the sender's incarnation whatever the
  // verdict; counts the number only in a datagram whose echo is this node's. Requires
  // stamp.incarnation > 0.
  Freshness Check(Stream stream, const std::string& sender, const Stamp& stamp,
                  std::uint64_t current, MonoTime now);
  // The newest incarnation `sender` stamped a datagram to this node with (fresh or not); 0
  // if none is kept. What this node echoes to it, if it knows nothing newer.
  std::uint64_t Heard(std::string_view sender) const;
  // Whether this node may answer `sender`'s unconfirmed datagram at `now`: at most once per
  // `every` (the answer tells it this node's incarnation, so that it echoes it).
  bool MayAnswer(const std::string& sender, MonoTime now, Duration every);
  // Numbering the membership datagrams this node sends (heartbeats carry the member's
  // round): the number of the next one to `to`. Those to one receiver follow one another,
  // so that its window of 64 holds whatever reordering happens between the two alone,
  // however many this node sends others meanwhile; a receiver this node keeps no record of
  // (never sent to, or forgotten) starts above every number given before, so that it never
  // sees a number twice from one incarnation.
  std::uint64_t NextNumber(std::string_view to) const;
  // `count` datagrams to `to` took the numbers from NextNumber(to) on, at `now`.
  void Numbered(const std::string& to, std::uint64_t count, MonoTime now);
  // Forgets every member for which `keep` is false and that this node has neither heard
  // from nor sent to since `now - idle` (see docs/membership.md, "Replays", for the limit
  // this sets).
  void Prune(const std::function<bool(const std::string&)>& keep, MonoTime now, Duration idle);
  std::size_t size() const { return members_.size(); }

 private:
  struct Window {
    std::uint64_t incarnation = 0;  // whose numbers `seen` holds
    SequenceTracker seen;
  };
  struct Member {
    std::uint64_t heard = 0;  // the newest incarnation it stamped
    std::uint64_t sent = 0;   // the number of the last datagram sent to it
    std::array<Window, kStreamCount> windows;
    MonoTime answered = MonoTime::min();
    MonoTime last = MonoTime::min();  // heard from or sent to
  };
  // `id`'s entry, made if there is none: as one sent the numbers given so far.
  Member& Entry(const std::string& id);

  std::uint64_t first_;
  std::uint64_t numbered_ = 0;  // numbers given, to anyone: at least every `sent`
  std::unordered_map<std::string, Member, StringHash, std::equal_to<>> members_;
};

}  // namespace vigil::membership
