#include "sim/graph_cache.h"

#include <algorithm>
#include <iterator>
#include <span>
#include <string_view>

namespace vigil::sim {

namespace {

std::string Joined(std::span<const std::string> ids, char prefix) {
  std::string joined;
  for (const std::string& id : ids) {
    joined.push_back(prefix);
    joined.append(id).push_back('\n');
  }
  return joined;
}

}  // namespace

std::shared_ptr<const membership::ObserverGraph> GraphCache::Changed(
    const std::shared_ptr<const Graph>& from, const std::vector<std::string>& added,
    const std::vector<std::string>& removed) {
  Key key{from.get(), Joined(added, '+') + Joined(removed, '-')};
  if (auto it = changes_.find(key); it != changes_.end()) {
    if (auto to = it->second.to.lock(); to && !it->second.from.expired()) return to;
    changes_.erase(it);  // its source or its result was freed: found or built again below
  }
  auto result = WithMembers(from, added, removed);
  changes_.emplace(std::move(key), Change{from, result});
  if (changes_.size() >= prune_at_) Prune();
  return result;
}

std::shared_ptr<const membership::ObserverGraph> GraphCache::WithMembers(
    const std::shared_ptr<const Graph>& from, const std::vector<std::string>& added,
    const std::vector<std::string>& removed) {
  // Only a change not seen before gets here; another way may have led to the same members
  // (nodes that batched the same comebacks differently), so they are looked up before a
  // graph is built.
  std::vector<std::string> members = membership::MembersAfter(*from, added, removed);
  const std::uint64_t hash = std::hash<std::string_view>{}(Joined(members, ' '));
  auto& same = by_members_[hash];
  for (const auto& weak : same) {
    auto graph = weak.lock();
    if (graph && std::ranges::equal(graph->members(), members)) return graph;
  }
  std::erase_if(same, [](const auto& weak) { return weak.expired(); });
  auto built = std::make_shared<const Graph>(
      Graph::Build(std::move(members), from->observers_per_member()));
  same.push_back(built);
  ++built_;
  return built;
}

void GraphCache::Prune() {
  std::erase_if(changes_, [](const auto& entry) {
    return entry.second.to.expired() || entry.second.from.expired();
  });
  for (auto it = by_members_.begin(); it != by_members_.end();) {
    std::erase_if(it->second, [](const auto& weak) { return weak.expired(); });
    it = it->second.empty() ? by_members_.erase(it) : std::next(it);
  }
  prune_at_ = std::max<std::size_t>(1024, 2 * changes_.size());
}

}  // namespace vigil::sim
