// RememberedTable (daemon/remembered_table.h): the compact store of remembered peers,
// checked against a std::map model through puts, erases, walks and compaction.
#include "daemon/remembered_table.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <random>
#include <string>

namespace vigil {
namespace {

PersistedPeer Sample(const std::string& id, std::uint64_t n) {
  PersistedPeer p;
  p.id = id;
  p.state = PeerStateName(static_cast<PeerState>(n % 5));
  p.enrolled = n % 3 != 0;
  p.since_ms = 1'760'000'000'000 + static_cast<std::int64_t>(n * 7919 % 100'000);
  if (n % 4 != 0) p.last_heartbeat_ms = p.since_ms - static_cast<std::int64_t>(n % 50'000);
  p.incarnation = n % 2 ? n : 1'760'000'000'000 + n;
  p.sequence = n * 31;
  p.interval_us = n % 7 ? 10'000'000 : 0;
  return p;
}

bool Same(const PeerFields& f, const PersistedPeer& p) {
  return ToPersisted(f).id == p.id && ToPersisted(f).state == p.state &&
         f.enrolled == p.enrolled && f.since_ms == p.since_ms &&
         f.last_heartbeat_ms == p.last_heartbeat_ms && f.incarnation == p.incarnation &&
         f.sequence == p.sequence && f.interval_us == p.interval_us;
}

// Every live record exactly once, each equal to the model's.
void ExpectWalkMatches(const RememberedTable& table,
                       const std::map<std::string, PersistedPeer>& model, std::size_t slice) {
  std::map<std::string, int> seen;
  std::optional<std::uint64_t> cursor = 0;
  while (cursor) {
    cursor = table.Walk(*cursor, slice, [&](const PeerFields& f) {
      const std::string id(f.id);
      ++seen[id];
      const auto it = model.find(id);
      ASSERT_NE(it, model.end()) << id;
      EXPECT_TRUE(Same(f, it->second)) << id;
    });
  }
  EXPECT_EQ(seen.size(), model.size());
  for (const auto& [id, times] : seen) EXPECT_EQ(times, 1) << id;
}

TEST(RememberedTable, KeepsEveryFieldIncludingExtremes) {
  RememberedTable table;
  PersistedPeer p;
  p.id = std::string(64, 'x');  // the longest id
  p.state = "left";
  p.enrolled = true;
  p.since_ms = std::numeric_limits<std::int64_t>::min();
  p.last_heartbeat_ms = std::numeric_limits<std::int64_t>::max();
  p.incarnation = std::numeric_limits<std::uint64_t>::max();
  p.sequence = std::numeric_limits<std::uint64_t>::max();
  p.interval_us = std::numeric_limits<std::uint32_t>::max();
  ASSERT_TRUE(table.Put(FieldsOf(p)));
  PersistedPeer q = p;
  q.id = "q";
  q.since_ms = -5;
  q.last_heartbeat_ms.reset();
  q.state = "unknown";
  ASSERT_TRUE(table.Put(FieldsOf(q)));
  ASSERT_TRUE(table.Find(p.id));
  EXPECT_TRUE(Same(*table.Find(p.id), p));
  EXPECT_TRUE(Same(*table.Find("q"), q));
  EXPECT_FALSE(table.Find("x"));
  EXPECT_EQ(table.size(), 2u);
}

TEST(RememberedTable, PutReplacesWhetherTheRecordGrowsOrNot) {
  RememberedTable table;
  PersistedPeer p = Sample("user-1", 1);
  ASSERT_TRUE(table.Put(FieldsOf(p)));
  p.sequence = 2;  // the same length: in place
  ASSERT_TRUE(table.Put(FieldsOf(p)));
  EXPECT_EQ(table.Find("user-1")->sequence, 2u);
  p.sequence = std::uint64_t{1} << 60;  // longer: moved
  ASSERT_TRUE(table.Put(FieldsOf(p)));
  EXPECT_TRUE(Same(*table.Find("user-1"), p));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_TRUE(table.Erase("user-1"));
  EXPECT_FALSE(table.Erase("user-1"));
  EXPECT_FALSE(table.Find("user-1"));
  EXPECT_TRUE(table.empty());
}

// Random puts and erases across many chunks, compaction in small steps between them, and
// walks that begin while a compaction is paused half-way.
TEST(RememberedTable, MatchesAMapThroughChurnAndCompaction) {
  RememberedTable table;
  std::map<std::string, PersistedPeer> model;
  std::mt19937_64 rng(7);
  bool compacted = false;
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 40'000; ++i) {
      const std::uint64_t n = rng() % 60'000;
      const std::string id = "peer-" + std::to_string(n);
      if (rng() % 3 == 0) {
        EXPECT_EQ(table.Erase(id), model.erase(id) == 1);
      } else {
        const PersistedPeer p = Sample(id, rng() % 1'000'000);
        ASSERT_TRUE(table.Put(FieldsOf(p)));
        model[id] = p;
      }
      if (i % 500 == 0 && table.NeedsCompaction()) {
        table.CompactStep(300);
        compacted = true;
      }
    }
    ExpectWalkMatches(table, model, 997);  // possibly mid-compaction
    ASSERT_EQ(table.size(), model.size());
    for (const auto& [id, p] : model) {
      const auto f = table.Find(id);
      ASSERT_TRUE(f) << id;
      ASSERT_TRUE(Same(*f, p)) << id;
    }
  }
  EXPECT_TRUE(compacted);
  while (table.CompactStep(1000)) {
  }
  ExpectWalkMatches(table, model, 1u << 20);
}

// A record of exactly `bytes` (44 or 100) bytes: flags, id length, id and varints.
PeerFields SizedRecord(const std::string& id, int bytes) {
  PeerFields f;
  f.id = id;
  if (bytes == 100) {  // 2 + 64 + 10 + 10 + 10 + 4
    f.since_ms = std::numeric_limits<std::int64_t>::min();
    f.incarnation = std::numeric_limits<std::uint64_t>::max();
    f.sequence = std::numeric_limits<std::uint64_t>::max();
    f.interval_us = 1u << 21;
  }  // 44: 2 + 38 + four one-byte varints
  return f;
}

std::string IdOf(char kind, int n, std::size_t length) {
  std::string id = kind + std::to_string(n);
  id.resize(length, '-');
  return id;
}

// Chunk 0 ends with 44 unused bytes (2,621 records of 100); compaction then packs it to its
// very end, the last record starting where the chunk's records used to end: that record
// and the ones after it must still be walked and found.
TEST(RememberedTable, ARecordPackedIntoTheOldTailOfAChunkIsKept) {
  RememberedTable table;
  std::vector<std::string> live;
  for (int i = 0; i < 2'621; ++i) ASSERT_TRUE(table.Put(SizedRecord(IdOf('a', i, 64), 100)));
  for (int i = 1; i < 2'621; ++i) live.push_back(IdOf('a', i, 64));
  live.push_back(IdOf('x', 0, 64));
  ASSERT_TRUE(table.Put(SizedRecord(live.back(), 100)));  // the first of chunk 1
  for (int i = 0; i < 11; ++i) {
    live.push_back(IdOf('y', i, 38));
    ASSERT_TRUE(table.Put(SizedRecord(live.back(), 44)));
  }
  for (int i = 0; i < 12'000; ++i) ASSERT_TRUE(table.Put(SizedRecord(IdOf('f', i, 64), 100)));
  ASSERT_TRUE(table.Erase(IdOf('a', 0, 64)));
  for (int i = 0; i < 12'000; ++i) ASSERT_TRUE(table.Erase(IdOf('f', i, 64)));
  ASSERT_TRUE(table.NeedsCompaction());
  while (table.CompactStep(7)) {
  }
  std::map<std::string, int> seen;
  for (std::optional<std::uint64_t> at = 0; at;) {
    at = table.Walk(*at, 1'000, [&](const PeerFields& f) { ++seen[std::string(f.id)]; });
  }
  EXPECT_EQ(seen.size(), live.size());
  for (const std::string& id : live) {
    EXPECT_EQ(seen[id], 1) << id;
    ASSERT_TRUE(table.Find(id)) << id;
  }
  // Compacting again (after more churn) moves them correctly too.
  for (int i = 0; i < 12'000; ++i) ASSERT_TRUE(table.Put(SizedRecord(IdOf('g', i, 64), 100)));
  for (int i = 0; i < 12'000; ++i) ASSERT_TRUE(table.Erase(IdOf('g', i, 64)));
  while (table.CompactStep(7)) {
  }
  for (const std::string& id : live) ASSERT_TRUE(table.Find(id)) << id;
  EXPECT_EQ(table.size(), live.size());
}

TEST(RememberedTable, CompactionGivesBackTheChunksOfTheDead) {
  RememberedTable table;
  for (int i = 0; i < 100'000; ++i) {
    ASSERT_TRUE(table.Put(FieldsOf(Sample("user-" + std::to_string(i), i))));
  }
  const std::size_t full = table.MemoryBytes();
  for (int i = 0; i < 100'000; ++i) {
    if (i % 10 != 0) {
      ASSERT_TRUE(table.Erase("user-" + std::to_string(i)));
    }
  }
  ASSERT_TRUE(table.NeedsCompaction());
  int steps = 0;
  while (table.CompactStep(5'000)) ++steps;
  EXPECT_GT(steps, 10);  // bounded steps, not one pass
  EXPECT_FALSE(table.NeedsCompaction());
  EXPECT_LT(table.MemoryBytes(), full / 2);
  EXPECT_EQ(table.size(), 10'000u);
  for (int i = 0; i < 100'000; i += 10) {
    const std::string id = "user-" + std::to_string(i);
    ASSERT_TRUE(table.Find(id)) << id;
    EXPECT_TRUE(Same(*table.Find(id), Sample(id, i)));
  }
  // Emptied and compacted, it still takes new records.
  for (int i = 0; i < 100'000; i += 10) ASSERT_TRUE(table.Erase("user-" + std::to_string(i)));
  while (table.CompactStep(5'000)) {
  }
  ASSERT_TRUE(table.Put(FieldsOf(Sample("again", 3))));
  EXPECT_TRUE(Same(*table.Find("again"), Sample("again", 3)));
  std::size_t walked = 0;
  for (std::optional<std::uint64_t> at = 0; at;) {
    at = table.Walk(*at, 10, [&](const PeerFields&) { ++walked; });  // dead ones count too
  }
  EXPECT_EQ(walked, 1u);
}

}  // namespace
}  // namespace vigil
