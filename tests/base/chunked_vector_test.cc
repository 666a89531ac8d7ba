// ChunkedVector (base/chunked_vector.h): a vector whose growth never moves its elements.
#include "base/chunked_vector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace vigil {
namespace {

TEST(ChunkedVector, GrowingPastManyChunksMovesNoElement) {
  ChunkedVector<std::string, 4> v;
  std::vector<const std::string*> addresses;
  for (int i = 0; i < 37; ++i) addresses.push_back(&v.emplace_back("item-" + std::to_string(i)));
  ASSERT_EQ(v.size(), 37u);
  for (int i = 0; i < 37; ++i) {
    EXPECT_EQ(&v[i], addresses[i]) << i;  // the same object: never relocated
    EXPECT_EQ(v[i], "item-" + std::to_string(i));
  }
  EXPECT_EQ(v.back(), "item-36");
}

TEST(ChunkedVector, IteratorsAreRandomAccessInIndexOrder) {
  ChunkedVector<int, 8> v;
  for (int i = 0; i < 100; ++i) v.push_back(i * 3);
  static_assert(std::random_access_iterator<ChunkedVector<int, 8>::const_iterator>);
  const auto& c = v;
  EXPECT_EQ(std::upper_bound(c.begin(), c.end(), 150) - c.begin(), 51);
  int expected = 0;
  for (int x : c) {
    EXPECT_EQ(x, expected);
    expected += 3;
  }
  EXPECT_EQ(expected, 300);
  EXPECT_EQ(*(c.end() - 1), 297);
  EXPECT_EQ((c.begin() + 10)[5], 45);
}

TEST(ChunkedVector, PopDestroysAndFreesEmptiedChunks) {
  auto alive = std::make_shared<int>(0);
  {
    ChunkedVector<std::shared_ptr<int>, 4> v;
    for (int i = 0; i < 9; ++i) v.push_back(std::shared_ptr<int>(alive));
    EXPECT_EQ(alive.use_count(), 10);
    EXPECT_EQ(v.chunk_count(), 3u);
    for (int i = 0; i < 5; ++i) v.pop_back();
    EXPECT_EQ(alive.use_count(), 5);
    EXPECT_EQ(v.chunk_count(), 2u);  // the third freed, the emptied second kept as a spare
    v.push_back(std::shared_ptr<int>(alive));  // into the spare: no allocation
    EXPECT_EQ(v.chunk_count(), 2u);
    EXPECT_EQ(v.size(), 5u);
    ChunkedVector<std::shared_ptr<int>, 4> moved(std::move(v));
    EXPECT_TRUE(v.empty());  // NOLINT(bugprone-use-after-move): documented as emptied
    EXPECT_EQ(moved.size(), 5u);
    EXPECT_EQ(alive.use_count(), 6);
    ChunkedVector<std::shared_ptr<int>, 4> other;
    other.push_back(std::shared_ptr<int>(alive));
    other = std::move(moved);  // destroys what `other` held
    EXPECT_EQ(other.size(), 5u);
    EXPECT_EQ(alive.use_count(), 6);
    other.clear();
    EXPECT_EQ(alive.use_count(), 1);
    EXPECT_EQ(other.chunk_count(), 0u);
    for (int i = 0; i < 6; ++i) other.push_back(std::shared_ptr<int>(alive));
  }
  EXPECT_EQ(alive.use_count(), 1);  // the destructor destroyed every element
}

}  // namespace
}  // namespace vigil
