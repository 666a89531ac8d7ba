// How late the event loop runs: a histogram of how long after its due time a periodic
// timer fired. A handler that keeps the loop busy (a large snapshot, a mass transition, a
// big API body) shows up here as lag, and every datagram and deadline waited that long.
#pragma once

#include <array>
#include <cstdint>

#include "base/time.h"

namespace vigil {

class LoopLag {
 public:
  // Upper bounds of the buckets, in seconds (Prometheus `le`); a last one is +Inf.
  static constexpr std::array<double, 9> kBounds = {0.001, 0.002, 0.005, 0.01, 0.02,
                                                    0.05,  0.1,   0.25,  1.0};

  // Records one timer that fired `lag` after it was due (negative counts as 0).
  void Record(Duration lag) {
    const double s = lag > Duration::zero() ? ToMillis(lag) / 1000.0 : 0.0;
    std::size_t b = 0;
    while (b < kBounds.size() && s > kBounds[b]) ++b;
    ++buckets_[b];
    ++count_;
    sum_seconds_ += s;
    if (s > max_seconds_) max_seconds_ = s;
  }

  // Samples per bucket, not cumulative: buckets()[i] counts lags in (kBounds[i-1],
  // kBounds[i]]; the last one those above kBounds.back().
  const std::array<std::uint64_t, kBounds.size() + 1>& buckets() const { return buckets_; }
  std::uint64_t count() const { return count_; }
  double sum_seconds() const { return sum_seconds_; }
  // The longest lag recorded since start.
  double max_seconds() const { return max_seconds_; }

 private:
  std::array<std::uint64_t, kBounds.size() + 1> buckets_{};
  std::uint64_t count_ = 0;
  double sum_seconds_ = 0;
  double max_seconds_ = 0;
};

}  // namespace vigil
