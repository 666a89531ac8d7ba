// Observer graphs shared between simulated nodes: the thousands of nodes that apply the same
// membership change get one graph, not one each (10,000 nodes x 10,000 members would not fit).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "membership/graph_source.h"

namespace vigil::sim {

// Remembers each change it has built (a graph, the ids added and the ids removed) and hands
// the same result to every node that makes that change; and two changes that end in the same
// member list (the same members taken out and brought back in another order) share one
// graph. Holds no graph itself: a graph no node holds any more is freed, and forgotten.
// Not thread-safe.
class GraphCache final : public membership::GraphSource {
 public:
  std::shared_ptr<const membership::ObserverGraph> Changed(
      const std::shared_ptr<const membership::ObserverGraph>& from,
      const std::vector<std::string>& added, const std::vector<std::string>& removed) override;
  // Graphs built (one per member list at a time), and changes remembered now.
  std::uint64_t graphs_built() const { return built_; }
  std::size_t changes() const { return changes_.size(); }

 private:
  using Graph = membership::ObserverGraph;
  // The graph of the members `from` changed makes: one that exists, or a new one.
  std::shared_ptr<const Graph> WithMembers(const std::shared_ptr<const Graph>& from,
                                           const std::vector<std::string>& added,
                                           const std::vector<std::string>& removed);
  void Prune();

  using Key = std::pair<const Graph*, std::string>;
  struct Change {
    // `from` too: while it lives, its address (in the key) is not another graph's.
    std::weak_ptr<const Graph> from, to;
  };
  std::map<Key, Change> changes_;
  // By a hash of the member list.
  std::unordered_map<std::uint64_t, std::vector<std::weak_ptr<const Graph>>> by_members_;
  std::size_t prune_at_ = 1024;
  std::uint64_t built_ = 0;
};

}  // namespace vigil::sim
