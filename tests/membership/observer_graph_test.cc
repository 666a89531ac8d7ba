// The observer graph: the rule of docs/membership.md ("Observers"), checked against an
// independent SipHash-2-4 and by the properties the protocol relies on.
#include "membership/observer_graph.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <array>
#include <cstring>
#include <deque>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace vigil::membership {
namespace {

// SipHash-2-4 from the paper (Aumasson and Bernstein, 2012), written here apart from the
// library the code under test calls, so a wrong key layout or byte order shows.
std::uint64_t Rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
std::uint64_t Le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint64_t SipHash24(const std::array<unsigned char, 16>& key, std::string_view m) {
  const std::uint64_t k0 = Le64(key.data()), k1 = Le64(key.data() + 8);
  std::uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
  std::uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
  auto round = [&] {
    v0 += v1; v1 = Rotl(v1, 13); v1 ^= v0; v0 = Rotl(v0, 32);
    v2 += v3; v3 = Rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = Rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = Rotl(v1, 17); v1 ^= v2; v2 = Rotl(v2, 32);
  };
  std::string padded(m);
  const std::size_t whole = m.size() / 8 * 8;
  padded.resize(whole + 8, '\0');
  padded[whole + 7] = static_cast<char>(m.size() & 0xff);
  for (std::size_t at = 0; at < padded.size(); at += 8) {
    const std::uint64_t w = Le64(reinterpret_cast<const unsigned char*>(padded.data() + at));
    v3 ^= w;
    round();
    round();
    v0 ^= w;
  }
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

std::array<unsigned char, 16> RingKey(int ring) {
  std::array<unsigned char, 16> key{};
  std::memcpy(key.data(), "vigil/ring/v1", 13);
  key[15] = static_cast<unsigned char>(ring);
  return key;
}

TEST(RingPosition, IndependentSipHashMatchesThePapersVector) {
  std::array<unsigned char, 16> key{};
  for (int i = 0; i < 16; ++i) key[i] = static_cast<unsigned char>(i);
  std::string message;
  for (int i = 0; i < 15; ++i) message.push_back(static_cast<char>(i));
  EXPECT_EQ(SipHash24(key, message), 0xa129ca6149be45e5ULL);  // Appendix A of the paper
}

TEST(RingPosition, IsSipHash24UnderTheDocumentedKey) {
  for (int ring : {0, 1, 7, 63}) {
    for (std::string id : {"", "a", "node-1", "10.0.0.7:7946", "a-much-longer-member-id-42"}) {
      EXPECT_EQ(RingPosition(ring, id), SipHash24(RingKey(ring), id)) << ring << " " << id;
    }
  }
  EXPECT_NE(RingPosition(0, "node-1"), RingPosition(1, "node-1"));
}

// Every row of the test-vector table in docs/membership.md: "| ring | `id` | `hex` |".
TEST(RingPosition, DocumentedVectorsAreSipHash24UnderTheDocumentedKey) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/membership.md");
  ASSERT_TRUE(in) << "docs/membership.md";
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    int ring = -1;
    char id[64] = {}, hex[17] = {};
    if (std::sscanf(line.c_str(), "| %d | `%63[^`]` | `%16[0-9a-f]` |", &ring, id, hex) != 3) {
      continue;
    }
    EXPECT_EQ(std::stoull(hex, nullptr, 16), SipHash24(RingKey(ring), id)) << line;
    EXPECT_EQ(RingPosition(ring, id), SipHash24(RingKey(ring), id)) << line;
    ++rows;
  }
  EXPECT_GE(rows, 6);
}

std::vector<std::string> Ids(std::size_t n, const std::string& prefix = "node-") {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) ids.push_back(prefix + std::to_string(i));
  return ids;
}

std::set<std::pair<std::string, std::string>> Edges(const ObserverGraph& g) {
  std::set<std::pair<std::string, std::string>> edges;  // (subject, observer)
  for (MemberIndex s = 0; s < g.size(); ++s) {
    for (MemberIndex o : g.ObserversOf(s)) edges.emplace(g.id(s), g.id(o));
  }
  return edges;
}

TEST(ObserverGraph, EveryMemberHasMinKNMinusOneDistinctObserversNotItself) {
  for (std::size_t n : {1u, 2u, 3u, 8u, 9u, 10u, 100u, 2000u}) {
    const auto g = ObserverGraph::Build(Ids(n), 8);
    ASSERT_EQ(g.size(), n);
    const std::size_t want = std::min<std::size_t>(8, n - 1);
    for (MemberIndex s = 0; s < n; ++s) {
      const auto obs = g.ObserversOf(s);
      ASSERT_EQ(obs.size(), want) << n;
      std::set<MemberIndex> distinct(obs.begin(), obs.end());
      EXPECT_EQ(distinct.size(), want);
      EXPECT_FALSE(distinct.contains(s));
      for (std::size_t slot = 0; slot < obs.size(); ++slot) {
        EXPECT_EQ(g.ObserverSlot(s, obs[slot]), static_cast<int>(slot));
      }
    }
  }
}

TEST(ObserverGraph, RingZeroObserverIsTheSuccessorOnRingZero) {
  const auto ids = Ids(50);
  const auto g = ObserverGraph::Build(ids, 4);
  std::vector<std::pair<std::uint64_t, std::string>> ring;
  for (const auto& id : ids) ring.emplace_back(RingPosition(0, id), id);
  std::sort(ring.begin(), ring.end());
  for (std::size_t i = 0; i < ring.size(); ++i) {
    const auto s = *g.Find(ring[i].second);
    EXPECT_EQ(g.id(g.ObserversOf(s)[0]), ring[(i + 1) % ring.size()].second);
  }
}

TEST(ObserverGraph, SubjectsAreTheInverseOfObservers) {
  const auto g = ObserverGraph::Build(Ids(500), 8);
  std::size_t total = 0;
  for (MemberIndex o = 0; o < g.size(); ++o) {
    const auto subjects = g.SubjectsOf(o);
    EXPECT_TRUE(std::is_sorted(subjects.begin(), subjects.end()));
    for (MemberIndex s : subjects) EXPECT_GE(g.ObserverSlot(s, o), 0);
    total += subjects.size();
  }
  EXPECT_EQ(total, g.size() * 8);
}

TEST(ObserverGraph, DoesNotDependOnInputOrderAndDropsDuplicates) {
  auto ids = Ids(300);
  const auto a = ObserverGraph::Build(ids, 8);
  std::mt19937 rng(7);
  std::shuffle(ids.begin(), ids.end(), rng);
  ids.push_back(ids.front());
  const auto b = ObserverGraph::Build(ids, 8);
  EXPECT_EQ(b.size(), 300u);
  EXPECT_EQ(Edges(a), Edges(b));
  EXPECT_FALSE(a.Find("node-300").has_value());
  EXPECT_EQ(a.id(*a.Find("node-17")), "node-17");
}

// A join changes about 2K edges between the members already there: on each ring the new
// member's predecessor gets it as observer instead of its old successor.
TEST(ObserverGraph, AJoinOrALeaveMovesAboutTwoKEdges) {
  constexpr int kK = 8;
  auto ids = Ids(1000);
  const auto before = ObserverGraph::Build(ids, kK);
  ids.push_back("newcomer");
  const auto after = ObserverGraph::Build(ids, kK);
  const auto old_edges = Edges(before);
  const auto new_edges = Edges(after);
  std::size_t gone = 0, added_among_old = 0;
  for (const auto& e : old_edges) gone += new_edges.contains(e) ? 0 : 1;
  for (const auto& e : new_edges) {
    if (e.first != "newcomer" && !old_edges.contains(e)) ++added_among_old;
  }
  EXPECT_GE(gone, 1u);
  EXPECT_LE(gone, 2u * kK);
  EXPECT_LE(added_among_old, 2u * kK);
  // The newcomer watches about K members and is watched by K.
  const auto n = *after.Find("newcomer");
  EXPECT_EQ(after.ObserversOf(n).size(), static_cast<std::size_t>(kK));
  EXPECT_GE(after.SubjectsOf(n).size(), static_cast<std::size_t>(kK) - 2);

  // A leave: member node-500 goes. Its own edges go; among the rest, about 2K move.
  std::erase(ids, "node-500");
  const auto left = ObserverGraph::Build(ids, kK);
  const auto left_edges = Edges(left);
  std::size_t moved = 0;
  for (const auto& e : left_edges) moved += new_edges.contains(e) ? 0 : 1;
  EXPECT_GE(moved, 1u);
  EXPECT_LE(moved, 2u * kK);
  for (const auto& e : left_edges) {
    EXPECT_NE(e.first, "node-500");
    EXPECT_NE(e.second, "node-500");
  }
}

// Constant load: nobody watches many more than K members; and flooding over observers and
// subjects reaches everyone in a few hops (the rings make an expander).
TEST(ObserverGraph, AtTenThousandLoadIsNearKAndFloodingReachesAllInFewHops) {
  constexpr int kK = 8;
  const auto g = ObserverGraph::Build(Ids(10000), kK);
  std::size_t most = 0;
  for (MemberIndex o = 0; o < g.size(); ++o) most = std::max(most, g.SubjectsOf(o).size());
  EXPECT_LE(most, static_cast<std::size_t>(kK) + 3);
  std::vector<int> hops(g.size(), -1);
  std::deque<MemberIndex> queue{0};
  hops[0] = 0;
  int deepest = 0;
  while (!queue.empty()) {
    const MemberIndex m = queue.front();
    queue.pop_front();
    for (MemberIndex next : g.NeighboursOf(m)) {
      if (hops[next] >= 0) continue;
      hops[next] = hops[m] + 1;
      deepest = std::max(deepest, hops[next]);
      queue.push_back(next);
    }
  }
  EXPECT_EQ(std::count(hops.begin(), hops.end(), -1), 0);
  EXPECT_LE(deepest, 6);  // log base 15 of 10,000 is 3.4; a random 16-regular graph, about 5
}

}  // namespace
}  // namespace vigil::membership
