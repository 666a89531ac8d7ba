#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "detector/interval_history.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;

TEST(IntervalHistory, StaysExactOverMillionsOfSamples) {
  // A naive floating running sum drifts after millions of add/evict pairs; ours is integer.
  IntervalHistory h(1000);
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int> us(50'000, 150'000);
  for (int i = 0; i < 3'000'000; ++i) h.Add(std::chrono::microseconds(us(rng)));
  // End with a known window: 1000 identical samples must give exactly zero variance.
  for (int i = 0; i < 1000; ++i) h.Add(100ms);
  EXPECT_EQ(h.MeanMillis(), 100.0);
  EXPECT_EQ(h.VarianceMillis2(), 0.0);
}

TEST(IntervalHistory, VarianceIsNeverNegative) {
  IntervalHistory h(7);
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<long> us(0, 4'000'000'000L);
  for (int i = 0; i < 100000; ++i) {
    h.Add(std::chrono::microseconds(us(rng)));
    ASSERT_GE(h.VarianceMillis2(), 0.0);
  }
}

TEST(IntervalHistory, ClampsNegativeAndHugeIntervals) {
  IntervalHistory h(4);
  h.Add(-5ms);
  h.Add(std::chrono::hours(24 * 365));
  EXPECT_EQ(h.size(), 2u);
  EXPECT_FALSE(std::isnan(h.MeanMillis()));
  EXPECT_GE(h.VarianceMillis2(), 0.0);
}

TEST(IntervalHistory, CopyIsIndependent) {
  IntervalHistory a(3);
  a.Add(10ms);
  IntervalHistory b = a;
  b.Add(20ms);
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.MeanMillis(), 15.0);
}

TEST(IntervalHistory, MemoryIsFourBytesPerSlot) {
  EXPECT_EQ(IntervalHistory(1000).HeapBytes(), 4000u);
  EXPECT_EQ(IntervalHistory(100).HeapBytes(), 400u);
}

}  // namespace
}  // namespace vigil
