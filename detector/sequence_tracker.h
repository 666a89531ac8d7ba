// Per-peer sequence numbers: loss accounting and rejection of old or repeated heartbeats.
#pragma once

#include <cstdint>

namespace vigil {

// Tracks the highest sequence number seen within one incarnation. A heartbeat whose number
// is not above it (a duplicate, a reordered or a replayed datagram) carries no news and is
// rejected; a jump counts the skipped numbers as lost.
class SequenceTracker {
 public:
  enum class Result : std::uint8_t { kNew, kOld };

  // Starts over for a new incarnation.
  void Reset() { seen_ = false; }

  // Requires the incarnation to be current (checked by the caller).
  Result Observe(std::uint64_t seq) {
    if (seen_ && seq <= highest_) return Result::kOld;
    if (seen_ && seq > highest_ + 1) lost_ += seq - highest_ - 1;
    seen_ = true;
    highest_ = seq;
    return Result::kNew;
  }

  std::uint64_t lost() const { return lost_; }
  std::uint64_t highest() const { return highest_; }

 private:
  bool seen_ = false;
  std::uint64_t highest_ = 0;
  std::uint64_t lost_ = 0;  // over the peer's lifetime, across incarnations
};

}  // namespace vigil
