// A bounded window of heartbeat inter-arrival intervals with O(1) mean and variance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/time.h"

namespace vigil {

// Keeps the most recent `capacity` intervals in a ring and maintains their sum and sum of
// squares in integers (microseconds), so mean and population variance are exact: they do
// not drift over millions of samples and the variance is never negative.
//
// Intervals are stored with microsecond resolution and clamped to [0, ~71 min]; a longer
// silence is not a heartbeat interval anyone should learn from.
//
// Memory: capacity * 4 bytes, allocated once in the constructor; Add() never allocates.
// Not thread-safe; one owner.
class IntervalHistory {
 public:
  // Requires capacity >= 1.
  explicit IntervalHistory(std::size_t capacity);
  IntervalHistory(const IntervalHistory& other);
  IntervalHistory& operator=(const IntervalHistory& other);
  IntervalHistory(IntervalHistory&&) noexcept = default;
  IntervalHistory& operator=(IntervalHistory&&) noexcept = default;

  // Appends an interval, evicting the oldest when full. O(1).
  void Add(Duration interval);
  void Clear();

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }

  // Mean in milliseconds; 0 when empty.
  double MeanMillis() const;
  // Population variance (sum of squares / n - mean^2) in ms^2; 0 when fewer than 2 samples.
  double VarianceMillis2() const;
  double StdDevMillis() const;

  // Heap bytes owned by this object (for the per-peer memory figure).
  std::size_t HeapBytes() const { return capacity_ * sizeof(std::uint32_t); }

 private:
  __extension__ using Uint128 = unsigned __int128;

  std::size_t capacity_;
  std::size_t size_ = 0;
  std::size_t next_ = 0;  // slot the next Add() writes
  std::unique_ptr<std::uint32_t[]> micros_;
  std::uint64_t sum_ = 0;
  Uint128 sum_squares_ = 0;
};

}  // namespace vigil
