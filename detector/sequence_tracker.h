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
    skip_loss_once_ = false;
  }

  // Treats every number up to `floor` as seen: a datagram carrying any of them is kOld from
  // now on (a replay), and the first number above it is not counted as a loss (it follows
  // heartbeats nobody was listening for: a restart of this daemon, or the first datagram
  // proven fresh). Never lowers what was already seen.
  void RaiseFloor(std::uint64_t floor) {
    if (seen_ && floor <= highest_) return;
    seen_ = true;
    highest_ = floor;
    bitmap_ = ~std::uint64_t{0};
    skip_loss_once_ = true;
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
      if (shift > 1 && !skip_loss_once_) lost_ += shift - 1;
      skip_loss_once_ = false;
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
  // The highest number seen in the current incarnation; 0 when none.
  std::uint64_t highest() const { return seen_ ? highest_ : 0; }

 private:
  std::uint64_t highest_ = 0;
  std::uint64_t bitmap_ = 0;  // bit i: highest_ - i was seen
  std::uint64_t lost_ = 0;    // over the peer's lifetime, across incarnations
  std::uint64_t late_ = 0;
  bool seen_ = false;  // the flags last, to pack (a million peers hold one each)
  bool skip_loss_once_ = false;
};

}  // namespace vigil
