// An index from string ids to 32-bit handles, for a table that keeps the ids itself (the
// peer table): 8 bytes a slot, where a node-based hash map of std::string keys costs a
// 64-byte node, a copy of the id and a bucket for every entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace vigil {

// Open addressing with linear probing; each slot holds a handle and 32 bits of its id's
// hash. A lookup compares those bits first and asks the table for an id (`id_of(handle)`)
// only when they match, so a probe reads the table's records almost only for the id it is
// after. Load stays at most 0.8; growth is ×1.5 and rehashes from the stored bits, without
// the ids. Erase shifts later entries back (no tombstones).
//
// Costs: Find, Insert and Erase O(1) expected; Insert grows the slots when they fill
// (O(n), once per ×1.5 growth; Reserve avoids it). Not thread-safe; one owner.
class IdIndex {
 public:
  static constexpr std::uint32_t kAbsent = UINT32_MAX;

  // The handle stored for `id`, or kAbsent. `id_of(handle)` must give the id stored with
  // every handle in the index.
  template <class IdOf>
  std::uint32_t Find(std::string_view id, const IdOf& id_of) const {
    if (slots_.empty()) return kAbsent;
    const std::uint32_t hash = HashOf(id);
    for (std::size_t s = Home(hash);; s = Next(s)) {
      const Slot& slot = slots_[s];
      if (slot.handle == kAbsent) return kAbsent;
      if (slot.hash == hash && id_of(slot.handle) == id) return slot.handle;
    }
  }

  // For a caller that looks up many ids at once: asks the CPU to load the slot where a
  // lookup of `id` starts, and returns the id's hash for Candidate. A hint; changes nothing.
  std::uint32_t PrefetchHome(std::string_view id) const {
    const std::uint32_t hash = HashOf(id);
    if (!slots_.empty()) __builtin_prefetch(&slots_[Home(hash)]);
    return hash;
  }

  // The first handle with this hash along the probe run where a lookup for `hash` goes
  // (most likely the id's own, though not certainly: only the ids can tell), looking at
  // most 16 slots (about two cache lines); kAbsent if there is none.
  std::uint32_t Candidate(std::uint32_t hash) const {
    if (slots_.empty()) return kAbsent;
    std::size_t s = Home(hash);
    for (int looked = 0; looked < 16; ++looked, s = Next(s)) {
      const Slot& slot = slots_[s];
      if (slot.handle == kAbsent) return kAbsent;
      if (slot.hash == hash) return slot.handle;
    }
    return kAbsent;
  }

  // Stores `handle` for `id`. Requires that `id` is absent and handle != kAbsent.
  void Insert(std::string_view id, std::uint32_t handle);

  // Removes `id`; false if it was absent. `id_of` as for Find.
  template <class IdOf>
  bool Erase(std::string_view id, const IdOf& id_of) {
    if (slots_.empty()) return false;
    const std::uint32_t hash = HashOf(id);
    for (std::size_t s = Home(hash);; s = Next(s)) {
      const Slot& slot = slots_[s];
      if (slot.handle == kAbsent) return false;
      if (slot.hash == hash && id_of(slot.handle) == id) {
        RemoveSlot(s);
        return true;
      }
    }
  }

  // Room for `count` ids without growing.
  void Reserve(std::size_t count);
  // Forgets every id; keeps the capacity.
  void Clear();

  std::size_t size() const { return count_; }
  std::size_t capacity() const { return slots_.size(); }
  std::size_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {
    std::uint32_t handle = kAbsent;
    std::uint32_t hash = 0;
  };

  static std::uint32_t HashOf(std::string_view id) {
    const std::uint64_t h = std::hash<std::string_view>{}(id);
    return static_cast<std::uint32_t>(h ^ (h >> 32));
  }
  // Maps the hash onto the slots by multiplication (no power-of-two capacity needed).
  std::size_t Home(std::uint32_t hash) const {
    return static_cast<std::size_t>((std::uint64_t{hash} * slots_.size()) >> 32);
  }
  std::size_t Next(std::size_t s) const { return s + 1 == slots_.size() ? 0 : s + 1; }
  void Place(Slot slot);  // into the first empty slot of its probe run
  void RemoveSlot(std::size_t s);
  void Rebuild(std::size_t capacity);

  std::vector<Slot> slots_;
  std::size_t count_ = 0;
};

}  // namespace vigil
