#include "base/id_index.h"

#include <algorithm>

namespace vigil {

void IdIndex::Insert(std::string_view id, std::uint32_t handle) {
  if ((count_ + 1) * 5 > slots_.size() * 4) {  // load above 0.8
    Rebuild(std::max<std::size_t>(16, slots_.size() * 3 / 2));
  }
  Place(Slot{handle, HashOf(id)});
  ++count_;
}

void IdIndex::Reserve(std::size_t count) {
  const std::size_t wanted = count * 5 / 4 + 1;
  if (wanted > slots_.size()) Rebuild(wanted);
}

void IdIndex::Clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{});
  count_ = 0;
}

void IdIndex::Place(Slot slot) {
  std::size_t s = Home(slot.hash);
  while (slots_[s].handle != kAbsent) s = Next(s);
  slots_[s] = slot;
}

void IdIndex::RemoveSlot(std::size_t i) {
  // Backward-shift deletion: a later entry of the probe run moves into the hole unless its
  // home lies cyclically in (i, j], where it is found without passing the hole.
  std::size_t j = i;
  for (;;) {
    j = Next(j);
    if (slots_[j].handle == kAbsent) break;
    const std::size_t k = Home(slots_[j].hash);
    const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = Slot{};
  --count_;
}

void IdIndex::Rebuild(std::size_t capacity) {
  std::vector<Slot> old(capacity);
  old.swap(slots_);
  for (const Slot& slot : old) {
    if (slot.handle != kAbsent) Place(slot);
  }
}

}  // namespace vigil
