// A priority queue of peers keyed by the time each next needs evaluation.
#pragma once

#include <cstdint>
#include <vector>

#include "detector/peer_state.h"
#include "base/time.h"

namespace vigil {

// Holds at most one entry per peer. The daemon asks PopDue(now) for the peers whose
// deadline has come; no scan over all peers ever happens.
//
// Cost: postponing a deadline (what every heartbeat does) is O(1): the heap entry keeps
// its earlier key and is re-filed at the real deadline only when it reaches the top, so a
// peer costs one O(log n) heap operation per detection window, not per heartbeat. Bringing
// a deadline forward is O(log n). Memory: 16 bytes of heap plus 12 bytes per peer slot.
//
// Peers are dense indexes; Resize() sets how many there are. Not thread-safe.
class DeadlineQueue {
 public:
  void Resize(std::size_t peers);
  // Makes room for `peers` slots (and a heap of that many) without changing anything.
  void Reserve(std::size_t peers);
  std::size_t peer_slots() const { return wanted_.size(); }

  // Sets the peer's deadline (kNever removes it). Requires peer < peer_slots().
  void Set(PeerIndex peer, MonoTime deadline);
  void Clear(PeerIndex peer) { Set(peer, kNever); }

  // The peer's current deadline, kNever if none.
  MonoTime Get(PeerIndex peer) const { return wanted_[peer]; }

  // Appends to `out` every peer whose deadline is <= now, removing their deadlines: the
  // caller evaluates each and Set()s the next one. Earlier deadlines come first.
  void PopDue(MonoTime now, std::vector<PeerIndex>& out);

  // The earliest time any entry may be due (possibly a postponed entry's old key: waking
  // then is harmless and re-files it). kNever when empty.
  MonoTime NextWakeup() const;

  std::size_t heap_size() const { return heap_.size(); }

 private:
  struct Entry {
    MonoTime key;
    PeerIndex peer;
  };
  static constexpr std::uint32_t kNotQueued = UINT32_MAX;

  void Push(PeerIndex peer, MonoTime key);
  void SiftUp(std::size_t i);
  void SiftDown(std::size_t i);
  void Place(std::size_t i, const Entry& e);
  void RemoveTop();

  std::vector<Entry> heap_;
  std::vector<MonoTime> wanted_;        // real deadline per peer
  std::vector<std::uint32_t> position_;  // heap slot per peer, or kNotQueued
};

}  // namespace vigil
