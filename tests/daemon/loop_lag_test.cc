// LoopLag (daemon/loop_lag.h): the histogram behind vigil_loop_lag_seconds.
#include "daemon/loop_lag.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(LoopLag, EachLagLandsInTheFirstBucketThatHoldsIt) {
  LoopLag lag;
  lag.Record(microseconds(300));   // <= 1 ms
  lag.Record(milliseconds(1));     // exactly on a bound: that bucket (le is inclusive)
  lag.Record(milliseconds(7));     // (5 ms, 10 ms]
  lag.Record(milliseconds(-3));    // a timer that fired early counts as no lag
  lag.Record(milliseconds(1500));  // above every bound: +Inf only
  const auto& b = lag.buckets();
  EXPECT_EQ(b[0], 3u);
  EXPECT_EQ(b[3], 1u);
  EXPECT_EQ(b[LoopLag::kBounds.size()], 1u);
  EXPECT_EQ(lag.count(), 5u);
  EXPECT_NEAR(lag.sum_seconds(), 0.0003 + 0.001 + 0.007 + 1.5, 1e-9);
  EXPECT_DOUBLE_EQ(lag.max_seconds(), 1.5);
}

}  // namespace
}  // namespace vigil
