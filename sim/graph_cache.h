// Observer graphs shared between simulated nodes: the thousands of nodes that apply the same
// membership change get one graph, not one each (10,000 nodes x 10,000 members would not fit).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "membership/membership_node.h"

namespace vigil::sim {

// Remembers each change it has built (a graph and the ids removed from it) and hands the same
// result to every node that makes that change. Keeps every graph it made: a simulation makes
// few. Not thread-safe.
class GraphCache final : public membership::GraphSource {
 public:
  std::shared_ptr<const membership::ObserverGraph> Without(
      const std::shared_ptr<const membership::ObserverGraph>& from,
      const std::vector<std::string>& removed) override;
  std::size_t graphs_built() const { return changes_.size(); }

 private:
  using Key = std::pair<const membership::ObserverGraph*, std::string>;
  // The source graph is held too, so its address is never reused for another.
  std::map<Key, std::pair<std::shared_ptr<const membership::ObserverGraph>,
                          std::shared_ptr<const membership::ObserverGraph>>>
      changes_;
};

}  // namespace vigil::sim
