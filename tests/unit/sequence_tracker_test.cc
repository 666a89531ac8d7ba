// The sequence window: gaps are losses, late arrivals inside the window are not, duplicates
// and anything older than the window are rejected.
#include <gtest/gtest.h>

#include "detector/sequence_tracker.h"

namespace vigil {
namespace {

using R = SequenceTracker::Result;

TEST(SequenceTracker, InOrderGapsAndDuplicates) {
  SequenceTracker t;
  EXPECT_EQ(t.Observe(10), R::kNew);
  EXPECT_EQ(t.Observe(11), R::kNew);
  EXPECT_EQ(t.Observe(11), R::kOld);
  EXPECT_EQ(t.Observe(15), R::kNew);
  EXPECT_EQ(t.lost(), 3u);
}

TEST(SequenceTracker, ReorderedInsideTheWindowIsLateOnceAndNotLost) {
  SequenceTracker t;
  t.Observe(1);
  t.Observe(4);
  EXPECT_EQ(t.lost(), 2u);
  EXPECT_EQ(t.Observe(3), R::kLate);
  EXPECT_EQ(t.lost(), 1u);
  EXPECT_EQ(t.Observe(3), R::kOld);  // a replay of the late one
  EXPECT_EQ(t.Observe(2), R::kLate);
  EXPECT_EQ(t.lost(), 0u);
  EXPECT_EQ(t.late(), 2u);
}

TEST(SequenceTracker, OlderThanTheWindowIsRejected) {
  SequenceTracker t;
  t.Observe(1);
  t.Observe(100);
  EXPECT_EQ(t.Observe(100 - SequenceTracker::kWindow), R::kOld);
  EXPECT_EQ(t.Observe(100 - SequenceTracker::kWindow + 1), R::kLate);
  // A huge jump clears the window.
  t.Observe(1'000'000);
  EXPECT_EQ(t.Observe(99), R::kOld);
  EXPECT_EQ(t.Observe(999'999), R::kLate);
}

TEST(SequenceTracker, ResetStartsANewIncarnation) {
  SequenceTracker t;
  t.Observe(500);
  t.Reset();
  EXPECT_EQ(t.Observe(1), R::kNew);
  EXPECT_EQ(t.Observe(1), R::kOld);
}

}  // namespace
}  // namespace vigil
