// The remembered table: every peer vigild no longer tracks but still remembers (an enrolled
// peer silent past enrollment.retention), kept compactly because a presence service
// remembers everyone it has ever seen: about 43 bytes per peer with a 10-byte id, all in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "daemon/persisted_state.h"

namespace vigil {

// Records live in an append-only arena of fixed-size chunks, each record variable-length:
// a flags byte (state, enrolled, has-last-heartbeat, dead), the id, and the numbers as
// varints (the last heartbeat in epoch milliseconds, since as a difference from it, the
// incarnation, the replay high-water sequence and the advertised interval). An open-
// addressing index (linear probing, 4-byte arena offsets, load 0.5–0.8) finds them by id.
// A replaced or erased record is marked dead in place; CompactStep slides the live ones
// down in bounded steps once the dead outweigh the live, and frees the chunks left over.
//
// Costs: Find, Put and Erase O(1) expected; Put rehashes the index when it outgrows it
// (O(n) once per ×1.5 growth). Not thread-safe; one owner.
class RememberedTable {
 public:
  using Sink = std::function<void(const PeerFields&)>;

  RememberedTable();
  ~RememberedTable();
  RememberedTable(RememberedTable&&) noexcept;
  RememberedTable& operator=(RememberedTable&&) noexcept;

  // Inserts the record of `f.id` or replaces it. Requires a valid id (1..64 bytes).
  // Returns false, keeping any earlier record, only when the arena is full: 4 GiB of
  // records, dead ones awaiting compaction included (about 100 million peers at most).
  bool Put(const PeerFields& f);
  // The record of `id`. Its id views the table: valid until the next non-const call.
  std::optional<PeerFields> Find(std::string_view id) const;
  // Removes the record of `id`; false if there was none.
  bool Erase(std::string_view id);

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  // Visits at most `max` records (dead ones included) from `cursor` (0: the first), in
  // arena order, hands the live ones to `sink`, and returns where to go on, or nullopt
  // when all were visited. A record Put during a walk goes to the end, where the
  // walk meets it, unless it replaces one of the same length, which is written in place
  // (met only if the walk has not passed it). Requires that no CompactStep runs between
  // the slices of one walk (a step moves records behind the cursor); `sink` must not
  // change the table.
  std::optional<std::uint64_t> Walk(std::uint64_t cursor, std::size_t max,
                                    const Sink& sink) const;

  // Whether dead records outweigh live ones enough that compaction is due (or running).
  bool NeedsCompaction() const;
  // Moves at most `max` records down over the dead ones; at the end frees the chunks left
  // over. Returns whether compaction is still under way.
  bool CompactStep(std::size_t max);

  // Heap bytes held: arena chunks and index.
  std::size_t MemoryBytes() const;

 private:
  using Offset = std::uint32_t;

  // The record at `at`: its length, and the fields decoded if `out` is given.
  std::size_t Decode(Offset at, PeerFields* out) const;
  // The first byte of the record at `at`, and its id. Require a record there.
  std::uint8_t* At(Offset at) const;
  std::string_view IdAt(Offset at) const;
  // The index slot holding `id`, or the empty slot where it would go.
  std::size_t SlotOf(std::string_view id) const;
  // The slot where the probe for `id` starts.
  std::size_t Home(std::string_view id) const;
  // Empties `slot`, moving later entries of its probe run up (backward-shift deletion).
  void RemoveSlot(std::size_t slot);
  // Rehashes into an index 1.5 times as large.
  void Grow();
  // Ends a compaction: the arena ends at write_; chunks past it are freed (one kept spare).
  void FinishCompaction();
  // Appends `bytes` and returns their offset; nullopt when the arena is full.
  std::optional<Offset> Append(std::span<const std::uint8_t> bytes);
  // Marks the record at `at` dead, for compaction to reclaim.
  void MarkDead(Offset at);
  // Steps a walk or compaction read position over chunk ends; false at the arena's end.
  bool Settle(std::uint64_t& at) const;

  std::vector<std::unique_ptr<std::uint8_t[]>> chunks_;
  std::vector<std::uint32_t> chunk_used_;  // bytes of records in each chunk
  std::unique_ptr<std::uint8_t[]> spare_;  // a freed chunk, kept for the next
  std::uint64_t end_ = 0;                  // where the next record goes
  std::vector<Offset> slots_;              // kEmptySlot or a record's offset
  std::size_t count_ = 0;
  std::uint64_t live_bytes_ = 0;
  std::uint64_t dead_bytes_ = 0;
  // Compaction under way: records before write_ are compacted, [write_, read_) is free.
  bool compacting_ = false;
  std::uint64_t write_ = 0;
  std::uint64_t read_ = 0;
};

}  // namespace vigil
