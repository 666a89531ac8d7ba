#include "sim/graph_cache.h"

namespace vigil::sim {

std::shared_ptr<const membership::ObserverGraph> GraphCache::Without(
    const std::shared_ptr<const membership::ObserverGraph>& from,
    const std::vector<std::string>& removed) {
  std::string joined;
  for (const std::string& id : removed) joined.append(id).push_back('\n');
  Key key{from.get(), std::move(joined)};
  if (auto it = changes_.find(key); it != changes_.end()) return it->second.second;
  auto built = GraphSource::Without(from, removed);
  changes_.emplace(std::move(key), std::make_pair(from, built));
  return built;
}

}  // namespace vigil::sim
