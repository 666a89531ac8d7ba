#include "detector/deadline_queue.h"

namespace vigil {

void DeadlineQueue::Resize(std::size_t peers) {
  // Shrinking drops entries of peers that no longer exist.
  if (peers < wanted_.size()) {
    for (std::size_t p = peers; p < wanted_.size(); ++p) Set(static_cast<PeerIndex>(p), kNever);
  }
  wanted_.resize(peers, kNever);
  position_.resize(peers, kNotQueued);
}

void DeadlineQueue::Reserve(std::size_t peers) {
  wanted_.reserve(peers);
  position_.reserve(peers);
  heap_.reserve(peers);
}

void DeadlineQueue::Place(std::size_t i, const Entry& e) {
  heap_[i] = e;
  position_[e.peer] = static_cast<std::uint32_t>(i);
}

void DeadlineQueue::SiftUp(std::size_t i) {
  const Entry e = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!(e.key < heap_[parent].key)) break;
    Place(i, heap_[parent]);
    i = parent;
  }
  Place(i, e);
}

void DeadlineQueue::SiftDown(std::size_t i) {
  const Entry e = heap_[i];
  const std::size_t n = heap_.size();
  while (true) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1].key < heap_[child].key) ++child;
    if (!(heap_[child].key < e.key)) break;
    Place(i, heap_[child]);
    i = child;
  }
  Place(i, e);
}

void DeadlineQueue::Push(PeerIndex peer, MonoTime key) {
  heap_.push_back({key, peer});
  SiftUp(heap_.size() - 1);
}

void DeadlineQueue::RemoveTop() {
  position_[heap_.front().peer] = kNotQueued;
  const Entry last = heap_.back();
  heap_.pop_back();
  if (!heap_.empty()) {
    Place(0, last);
    SiftDown(0);
  }
}

void DeadlineQueue::Set(PeerIndex peer, MonoTime deadline) {
  wanted_[peer] = deadline;
  if (deadline == kNever) return;  // a queued entry is dropped lazily when it surfaces
  const std::uint32_t pos = position_[peer];
  if (pos == kNotQueued) {
    Push(peer, deadline);
  } else if (deadline < heap_[pos].key) {
    heap_[pos].key = deadline;
    SiftUp(pos);
  }
  // Later than the queued key: keep the early key; PopDue re-files it.
}

void DeadlineQueue::PopDue(MonoTime now, std::vector<PeerIndex>& out) {
  while (!heap_.empty() && heap_.front().key <= now) {
    const PeerIndex peer = heap_.front().peer;
    const MonoTime wanted = wanted_[peer];
    if (wanted <= now) {
      RemoveTop();
      wanted_[peer] = kNever;
      out.push_back(peer);
    } else if (wanted == kNever) {
      RemoveTop();
    } else {
      heap_.front().key = wanted;  // postponed: re-file at the real deadline
      SiftDown(0);
    }
  }
}

MonoTime DeadlineQueue::NextWakeup() const {
  return heap_.empty() ? kNever : heap_.front().key;
}

}  // namespace vigil
