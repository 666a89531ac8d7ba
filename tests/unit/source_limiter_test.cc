#include <gtest/gtest.h>

#include "daemon/source_limiter.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

using testing::AtMs;

SourceKey Key(std::uint8_t last) {
  SourceKey k{};
  k[15] = last;
  return k;
}

TEST(SourceLimiter, OnlyRejectedTrafficIsCharged) {
  SourceLimiter l(10);  // 10 rejects/s, burst 20
  EXPECT_FALSE(l.Blocked(Key(1), AtMs(0)));  // unknown sources are never blocked
  for (int i = 0; i < 19; ++i) l.Charge(Key(1), AtMs(0));
  EXPECT_FALSE(l.Blocked(Key(1), AtMs(0)));
  l.Charge(Key(1), AtMs(0));
  EXPECT_TRUE(l.Blocked(Key(1), AtMs(0)));
  EXPECT_FALSE(l.Blocked(Key(2), AtMs(0)));  // other sources unaffected
  EXPECT_FALSE(l.Blocked(Key(1), AtMs(100)));  // refilled one token after 100 ms
  l.Charge(Key(1), AtMs(100));
  EXPECT_TRUE(l.Blocked(Key(1), AtMs(100)));
}

TEST(SourceLimiter, MemoryIsBounded) {
  SourceLimiter l(10, 4);
  for (std::uint8_t i = 0; i < 100; ++i) l.Charge(Key(i), AtMs(0));
  EXPECT_LE(l.tracked(), 4u);
  // Once the first ones have refilled they are forgotten to make room.
  l.Charge(Key(200), AtMs(10000));
  EXPECT_LE(l.tracked(), 4u);
}

}  // namespace
}  // namespace vigil
