// The members a node took out, remembered with the incarnation they were taken out at, so
// that only a newer incarnation brings one back, and a stale heartbeat or message never does
// (docs/membership.md, "Coming back").
#pragma once

#include <cstdint>
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/time.h"

namespace vigil::membership {

// Not thread-safe; one owner.
class Tombstones {
 public:
  struct Entry {
    std::uint64_t incarnation = 0;  // taken out at this incarnation
    MonoTime removed_at{};
    MonoTime notified_at = MonoTime::min();  // last told it is out, on hearing from it
    MonoTime probed_at = MonoTime::min();    // last told it is out, unasked (a probe)
    std::uint32_t notices = 0;               // how many times it was told, either way
    std::uint8_t bucket = 0;                 // BucketOf(id), for a Pull's answer
    bool learnt = false;  // from another member's listing: not this node's removal
    bool left = false;    // it said it was leaving (docs/membership.md, "Leaving")
    // How this node took it out, for the API (docs/api.md, "GET /v1/members"): the
    // observers whose reports made the cut, of how many it had (0 of 0: not by a cut: a
    // dispute it lost); the last heartbeat this node took from it as its observer (min:
    // none).
    std::uint8_t agreed = 0;
    std::uint8_t observers = 0;
    MonoTime last_heartbeat = MonoTime::min();
  };

  // Entries are forgotten `lifetime` after they were made. Requires lifetime > 0.
  explicit Tombstones(Duration lifetime);

  // Remembers that `id` was taken out at `incarnation` (replacing an entry for it); `probe`:
  // this node is one of those that probe it; `learnt`: from a listing, not by this node.
  void Add(const std::string& id, std::uint64_t incarnation, bool probe, MonoTime now,
           bool learnt = false);
  // The entry for `id`, or null. Valid until the next non-const call.
  Entry* Find(const std::string& id);
  const Entry* Find(const std::string& id) const;
  void Erase(const std::string& id);
  // `id`, held, said it leaves at `incarnation`: if that is the entry's, the entry is marked
  // left and probed no more (nobody is there to come back). Returns whether it was marked.
  // (A leave of another incarnation says nothing of this removal; and a leave must not
  // raise a tombstone's incarnation, which only a newer incarnation of the member undoes.)
  bool MarkLeft(const std::string& id, std::uint64_t incarnation);
  bool Holds(const std::string& id) const { return entries_.contains(id); }
  // Forgets the entries made `lifetime` or longer before `now`.
  void Expire(MonoTime now);
  std::size_t size() const { return entries_.size(); }
  // Calls f(id, entry) for every entry, in no particular order. f must not change this.
  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& [id, slot] : entries_) f(id, slot.entry);
  }
  // The entries this node probes: how many, and the id of the n-th, in no particular order
  // (for a random pick). Requires n < probe_count().
  std::size_t probe_count() const { return probed_ids_.size(); }
  const std::string& probed_id(std::size_t n) const { return probed_ids_[n]; }

 private:
  static constexpr std::size_t kNotProbed = SIZE_MAX;
  struct Slot {
    Entry entry;
    std::size_t probe_index = kNotProbed;  // in probed_ids_
  };
  void Unprobe(Slot& slot);

  Duration lifetime_;
  std::unordered_map<std::string, Slot> entries_;
  std::vector<std::string> probed_ids_;
  std::deque<std::pair<MonoTime, std::string>> order_;  // (removed_at, id), oldest first
};

}  // namespace vigil::membership
