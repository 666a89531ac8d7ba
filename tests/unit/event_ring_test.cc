#include <gtest/gtest.h>

#include "daemon/event_ring.h"

namespace vigil {
namespace {

EventRecord E(std::uint64_t id) {
  EventRecord e;
  e.id = id;
  e.peer = "p";
  return e;
}

std::vector<std::uint64_t> Ids(const std::vector<EventRecord>& v) {
  std::vector<std::uint64_t> out;
  for (const auto& e : v) out.push_back(e.id);
  return out;
}

TEST(EventRing, ReturnsEventsAfterAnId) {
  EventRing ring(10);
  for (std::uint64_t i = 1; i <= 5; ++i) ring.Push(E(i));
  bool gap = true;
  EXPECT_EQ(Ids(ring.After(0, &gap)), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(gap);
  EXPECT_EQ(Ids(ring.After(3, &gap)), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_TRUE(ring.After(5, &gap).empty());
  EXPECT_TRUE(ring.After(99, &gap).empty());
  EXPECT_EQ(ring.last_id(), 5u);
}

TEST(EventRing, IsBoundedAndReportsGaps) {
  EventRing ring(3);
  for (std::uint64_t i = 1; i <= 10; ++i) ring.Push(E(i));
  EXPECT_EQ(ring.size(), 3u);
  bool gap = false;
  EXPECT_EQ(Ids(ring.After(2, &gap)), (std::vector<std::uint64_t>{8, 9, 10}));
  EXPECT_TRUE(gap);  // 3..7 are gone
  EXPECT_EQ(Ids(ring.After(7, &gap)), (std::vector<std::uint64_t>{8, 9, 10}));
  EXPECT_FALSE(gap);
  ring.set_capacity(1);
  EXPECT_EQ(Ids(ring.After(0, &gap)), (std::vector<std::uint64_t>{10}));
  EXPECT_TRUE(gap);
}

}  // namespace
}  // namespace vigil
