// Per-peer sequence numbers: loss accounting, a small window for reordering, and rejection
// of repeated (replayed) heartbeats.
#pragma once

#include <cstdint>

namespace vigil {

// Tracks the highest sequence number seen within one incarnation and which of the 64 below
// it were seen (IPsec-style anti-replay window). A number above the highest is new (a jump
// counts the skipped numbers as lost); an unseen number inside the window arrived late
// (reordered: it is no longer lost, but carries no news); anything seen before or older
// than the window is rejected.
class SequenceTracker {
 public:
  static constexpr std::uint64_t kWindow = 64;
  enum class Result : std::uint8_t { kNew, kLate, kOld };

  // Starts over for a new incarnation.
  void Reset() {
    seen_ = false;
    bitmap_ = 0;
  }

  // Requires the incarnation to be current (checked by the caller).
  Result Observe(std::uint64_t seq) {
    if (!seen_) {
      seen_ = true;
      highest_ = seq;
      bitmap_ = 1;
      return Result::kNew;
    }
    if (seq > highest_) {
      const std::uint64_t shift = seq - highest_;
      if (shift > 1) lost_ += shift - 1;
      bitmap_ = shift >= kWindow ? 1 : (bitmap_ << shift) | 1;
      highest_ = seq;
      return Result::kNew;
    }
    const std::uint64_t back = highest_ - seq;
    if (back >= kWindow) return Result::kOld;
    const std::uint64_t bit = std::uint64_t{1} << back;
    if (bitmap_ & bit) return Result::kOld;  // a duplicate or a replay
    bitmap_ |= bit;
    if (lost_ > 0) --lost_;  // it was counted lost when the gap appeared
    ++late_;
    return Result::kLate;
  }

  std::uint64_t lost() const { return lost_; }
  std::uint64_t late() const { return late_; }
  std::uint64_t highest() const { return highest_; }

 private:
  bool seen_ = false;
  std::uint64_t highest_ = 0;
  std::uint64_t bitmap_ = 0;  // bit i: highest_ - i was seen
  std::uint64_t lost_ = 0;    // over the peer's lifetime, across incarnations
  std::uint64_t late_ = 0;
};

}  // namespace vigil
