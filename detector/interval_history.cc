#include "detector/interval_history.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace vigil {

IntervalHistory::IntervalHistory(std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      micros_(new std::uint32_t[capacity_]()) {}

IntervalHistory::IntervalHistory(const IntervalHistory& other)
    : capacity_(other.capacity_),
      size_(other.size_),
      next_(other.next_),
      micros_(new std::uint32_t[other.capacity_]),
      sum_(other.sum_),
      sum_squares_(other.sum_squares_) {
  std::memcpy(micros_.get(), other.micros_.get(), capacity_ * sizeof(std::uint32_t));
}

IntervalHistory& IntervalHistory::operator=(const IntervalHistory& other) {
  if (this != &other) {
    IntervalHistory copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void IntervalHistory::Add(Duration interval) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(interval).count();
  const std::uint32_t value = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(us, 0, std::numeric_limits<std::uint32_t>::max()));
  if (size_ == capacity_) {
    const std::uint64_t old = micros_[next_];
    sum_ -= old;
    sum_squares_ -= static_cast<Uint128>(old) * old;
  } else {
    ++size_;
  }
  micros_[next_] = value;
  sum_ += value;
  sum_squares_ += static_cast<Uint128>(value) * value;
  next_ = (next_ + 1) % capacity_;
}

void IntervalHistory::Clear() {
  size_ = 0;
  next_ = 0;
  sum_ = 0;
  sum_squares_ = 0;
}

double IntervalHistory::MeanMillis() const {
  if (size_ == 0) return 0.0;
  return static_cast<double>(sum_) / static_cast<double>(size_) / 1000.0;
}

double IntervalHistory::VarianceMillis2() const {
  if (size_ < 2) return 0.0;
  // n^2 * variance = n * sum(x^2) - (sum x)^2, exact in 128-bit integers and >= 0 by
  // Cauchy-Schwarz, so the result can never be negative.
  const Uint128 n = size_;
  const Uint128 numerator = n * sum_squares_ - static_cast<Uint128>(sum_) * sum_;
  const double n_d = static_cast<double>(size_);
  return static_cast<double>(numerator) / (n_d * n_d) / 1e6;
}

double IntervalHistory::StdDevMillis() const { return std::sqrt(VarianceMillis2()); }

}  // namespace vigil
