// GraphCache (sim/graph_cache.h): one graph per change for every node that makes it, one per
// member list whatever the way to it, and none kept once no node holds it.
#include "sim/graph_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::sim {
namespace {

using membership::ObserverGraph;

std::shared_ptr<const ObserverGraph> Graph(int members) {
  std::vector<std::string> ids;
  for (int i = 0; i < members; ++i) ids.push_back("n" + std::to_string(i));
  return std::make_shared<const ObserverGraph>(ObserverGraph::Build(ids, 4));
}

TEST(GraphCache, TheSameChangeGivesTheSameGraph) {
  GraphCache cache;
  const auto from = Graph(30);
  const auto a = cache.Changed(from, {}, {"n3", "n7"});
  const auto b = cache.Changed(from, {}, {"n3", "n7"});
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->size(), 28u);
  EXPECT_FALSE(a->Find("n3").has_value());
  EXPECT_EQ(cache.graphs_built(), 1u);
  const auto c = cache.Changed(from, {}, {"n3"});
  EXPECT_NE(c.get(), a.get());
  EXPECT_EQ(cache.graphs_built(), 2u);
}

TEST(GraphCache, TwoWaysToTheSameMembersShareAGraph) {
  GraphCache cache;
  const auto from = Graph(30);
  const auto without3 = cache.Changed(from, {}, {"n3"});
  const auto without7 = cache.Changed(from, {}, {"n7"});
  const auto both = cache.Changed(without3, {}, {"n7"});
  const auto other_way = cache.Changed(without7, {}, {"n3"});
  EXPECT_EQ(both.get(), other_way.get());
  EXPECT_EQ(both->size(), 28u);
  const auto back = cache.Changed(both, {"n3"}, {});  // n3 back: as without7
  EXPECT_EQ(back.get(), without7.get());
  EXPECT_EQ(cache.graphs_built(), 3u);
}

TEST(GraphCache, AGraphNobodyHoldsIsFreedAndBuiltAgain) {
  GraphCache cache;
  const auto from = Graph(30);
  std::weak_ptr<const ObserverGraph> weak = cache.Changed(from, {}, {"n5"});
  EXPECT_TRUE(weak.expired());  // the cache does not hold it
  const auto again = cache.Changed(from, {}, {"n5"});
  EXPECT_EQ(again->size(), 29u);
  EXPECT_EQ(cache.graphs_built(), 2u);
}

}  // namespace
}  // namespace vigil::sim
