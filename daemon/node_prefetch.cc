// Node::Prefetch: the receive path's cache misses, overlapped across a batch.
#include <algorithm>
#include <array>
#include <cstdint>

#include "daemon/node.h"
#include "detector/adaptive_detector.h"

namespace vigil {

namespace {

// Every cache line of the `bytes` from `at` (a prefetch never faults, so the last line may
// reach past a smaller object; the address is computed as an integer for that reason).
void PrefetchLines(const void* at, std::size_t bytes) {
  const auto first = reinterpret_cast<std::uintptr_t>(at);
  for (std::uintptr_t a = first; a < first + bytes; a += 64) {
    __builtin_prefetch(reinterpret_cast<const void*>(a));
  }
  __builtin_prefetch(reinterpret_cast<const void*>(first + bytes - 1));
}

// The adaptive detector, the default, is the largest a heartbeat touches.
constexpr std::size_t kDetectorBytes = 320;
static_assert(sizeof(AdaptiveDetector) <= kDetectorBytes);

}  // namespace

void Node::Prefetch(std::span<const std::span<const std::uint8_t>> datagrams) const {
  // A lone datagram has no misses to overlap with; a small table stays in the caches.
  if (datagrams.size() < 2 || peers_.size() < kPrefetchFromPeers) return;
  const std::size_t n = std::min(datagrams.size(), kPrefetchBatch);
  std::array<std::uint32_t, kPrefetchBatch> hashes{};
  std::array<std::uint32_t, kPrefetchBatch> handles;
  handles.fill(IdIndex::kAbsent);
  std::array<bool, kPrefetchBatch> decoded{};
  // Three passes, each loading what the next one reads: the slots, then the records
  // (whose address the slot gives), then the detectors (whose address the record gives).
  for (std::size_t i = 0; i < n; ++i) {
    Message m;
    RejectReason why{};
    decoded[i] = Decode(datagrams[i], &m, &why) == DecodeStatus::kOk;
    if (decoded[i]) hashes[i] = by_id_.PrefetchHome(m.sender_id);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!decoded[i]) continue;
    handles[i] = by_id_.Candidate(hashes[i]);
    if (handles[i] < peers_.size()) PrefetchLines(&peers_[handles[i]], sizeof(PeerRecord));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (handles[i] < peers_.size()) {
      PrefetchLines(&peers_[handles[i]].monitor.detector(), kDetectorBytes);
    }
  }
}

}  // namespace vigil
