#include "membership/tombstones.h"

#include <cassert>

#include "membership/ring_position.h"

namespace vigil::membership {

Tombstones::Tombstones(Duration lifetime) : lifetime_(lifetime) {
  assert(lifetime > Duration::zero());
}

void Tombstones::Add(const std::string& id, std::uint64_t incarnation, bool probe,
                     MonoTime now, bool learnt) {
  Slot& slot = entries_[id];
  slot.entry =
      Entry{incarnation, now, MonoTime::min(), MonoTime::min(), 0, BucketOf(id), learnt};
  if (probe && slot.probe_index == kNotProbed) {
    slot.probe_index = probed_ids_.size();
    probed_ids_.push_back(id);
  } else if (!probe) {
    Unprobe(slot);
  }
  order_.emplace_back(now, id);
}

Tombstones::Entry* Tombstones::Find(const std::string& id) {
  const auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second.entry;
}

const Tombstones::Entry* Tombstones::Find(const std::string& id) const {
  const auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second.entry;
}

void Tombstones::Unprobe(Slot& slot) {
  if (slot.probe_index == kNotProbed) return;
  // The last id takes the place of the one leaving.
  const std::size_t index = slot.probe_index;
  if (index + 1 != probed_ids_.size()) {
    probed_ids_[index] = std::move(probed_ids_.back());
    entries_.at(probed_ids_[index]).probe_index = index;
  }
  probed_ids_.pop_back();
  slot.probe_index = kNotProbed;
}

void Tombstones::Erase(const std::string& id) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Unprobe(it->second);
  entries_.erase(it);
}

bool Tombstones::MarkLeft(const std::string& id, std::uint64_t incarnation) {
  const auto it = entries_.find(id);
  if (it == entries_.end() || incarnation != it->second.entry.incarnation) return false;
  it->second.entry.left = true;
  Unprobe(it->second);
  return true;
}

void Tombstones::Expire(MonoTime now) {
  while (!order_.empty() && order_.front().first + lifetime_ <= now) {
    const auto& [at, id] = order_.front();
    // An entry erased, or made again since, is not this one.
    const Entry* entry = Find(id);
    if (entry != nullptr && entry->removed_at == at) Erase(id);
    order_.pop_front();
  }
}

}  // namespace vigil::membership
