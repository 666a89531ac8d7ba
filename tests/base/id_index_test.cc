// IdIndex (base/id_index.h) against std::unordered_map under random inserts, erases and
// lookups, through growth and at full load, its Reserve / Clear promises, and the hash-only
// Candidate used for prefetching.
#include "base/id_index.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace vigil {
namespace {

class IdIndexModel {
 public:
  std::uint32_t Find(const std::string& id) const {
    return index.Find(id, [this](std::uint32_t h) { return std::string_view(ids.at(h)); });
  }
  bool Erase(const std::string& id) {
    return index.Erase(id, [this](std::uint32_t h) { return std::string_view(ids.at(h)); });
  }
  IdIndex index;
  std::vector<std::string> ids;  // the "table": handle -> id
};

TEST(IdIndex, AgreesWithAHashMapUnderRandomOperations) {
  std::mt19937_64 rng(14);
  IdIndexModel m;
  std::unordered_map<std::string, std::uint32_t> model;
  for (int op = 0; op < 300'000; ++op) {
    // Ids from a small space, so inserts, erases and lookups of present ids all happen.
    const std::string id = "user-" + std::to_string(rng() % 20'000);
    const auto it = model.find(id);
    switch (rng() % 4) {
      case 0:
      case 1:
        if (it == model.end()) {
          const auto handle = static_cast<std::uint32_t>(m.ids.size());
          m.ids.push_back(id);
          m.index.Insert(id, handle);
          model.emplace(id, handle);
        }
        break;
      case 2:
        EXPECT_EQ(m.Erase(id), it != model.end()) << id;
        if (it != model.end()) model.erase(it);
        break;
      default:
        EXPECT_EQ(m.Find(id), it == model.end() ? IdIndex::kAbsent : it->second) << id;
    }
    ASSERT_EQ(m.index.size(), model.size());
    ASSERT_LE(m.index.size() * 5, m.index.capacity() * 4);  // load at most 0.8
  }
  for (const auto& [id, handle] : model) EXPECT_EQ(m.Find(id), handle) << id;
  EXPECT_EQ(m.Find("never-inserted"), IdIndex::kAbsent);
}

TEST(IdIndex, ReserveAvoidsGrowthAndClearKeepsTheCapacity) {
  IdIndexModel m;
  EXPECT_EQ(m.Find("x"), IdIndex::kAbsent);  // empty, no slots yet
  EXPECT_FALSE(m.Erase("x"));
  m.index.Reserve(10'000);
  const std::size_t capacity = m.index.capacity();
  EXPECT_GE(capacity * 4, 10'000u * 5);
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    m.ids.push_back("peer-" + std::to_string(i));
    m.index.Insert(m.ids.back(), i);
  }
  EXPECT_EQ(m.index.capacity(), capacity);
  EXPECT_EQ(m.index.MemoryBytes(), capacity * 8);
  for (std::uint32_t i = 0; i < 10'000; i += 97) EXPECT_EQ(m.Find(m.ids[i]), i);
  m.index.Clear();
  EXPECT_EQ(m.index.size(), 0u);
  EXPECT_EQ(m.index.capacity(), capacity);
  EXPECT_EQ(m.Find("peer-1"), IdIndex::kAbsent);
  m.index.Insert("peer-1", 1);
  EXPECT_EQ(m.Find("peer-1"), 1u);
}

// Candidate (for prefetching, with only the hash) names a stored id's own handle nearly
// always, even at full load, and never a handle that is not stored.
TEST(IdIndex, CandidateNamesTheIdsOwnHandleAtFullLoad) {
  IdIndexModel m;
  m.index.Reserve(10'000);  // filled to 0.8 below: the longest probe runs
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    m.ids.push_back("peer-" + std::to_string(i));
    m.index.Insert(m.ids.back(), i);
  }
  int own = 0;
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    const std::uint32_t c = m.index.Candidate(m.index.PrefetchHome(m.ids[i]));
    if (c == i) ++own;
    EXPECT_TRUE(c == IdIndex::kAbsent || c < 10'000u) << c;
  }
  EXPECT_GE(own, 9'500);  // misses only past 16 slots of probing or on a hash collision
  EXPECT_EQ(m.index.Candidate(m.index.PrefetchHome("never-inserted")), IdIndex::kAbsent);
  EXPECT_EQ(IdIndex().Candidate(IdIndex().PrefetchHome("x")), IdIndex::kAbsent);
}

}  // namespace
}  // namespace vigil
