#include "membership/graph_source.h"

#include <algorithm>

namespace vigil::membership {

std::vector<std::string> MembersAfter(const ObserverGraph& from,
                                      const std::vector<std::string>& added,
                                      const std::vector<std::string>& removed) {
  std::vector<std::string> members;
  members.reserve(from.size() + added.size());
  for (const std::string& id : from.members()) {
    if (!std::binary_search(removed.begin(), removed.end(), id)) members.push_back(id);
  }
  members.insert(members.end(), added.begin(), added.end());
  std::sort(members.begin(), members.end());
  return members;
}

std::shared_ptr<const ObserverGraph> GraphSource::Changed(
    const std::shared_ptr<const ObserverGraph>& from, const std::vector<std::string>& added,
    const std::vector<std::string>& removed) {
  return std::make_shared<const ObserverGraph>(
      ObserverGraph::Build(MembersAfter(*from, added, removed), from->observers_per_member()));
}

}  // namespace vigil::membership
