// Where a member gets the observer graph that follows a membership change. vigild builds it;
// the simulator shares one graph between the thousands of nodes that make the same change
// (sim/graph_cache.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "membership/observer_graph.h"

namespace vigil::membership {

// The members of `from` with `added` and without `removed` (as GraphSource::Changed takes
// them), sorted by id.
std::vector<std::string> MembersAfter(const ObserverGraph& from,
                                      const std::vector<std::string>& added,
                                      const std::vector<std::string>& removed);

class GraphSource {
 public:
  virtual ~GraphSource() = default;
  // The graph of `from`'s members with `added` (ids not in `from`) and without `removed`
  // (ids in `from`), both ascending, with the same observers per member. The default builds
  // it. Thread-safety: the caller's (MembershipNode calls it from its owner's thread).
  virtual std::shared_ptr<const ObserverGraph> Changed(
      const std::shared_ptr<const ObserverGraph>& from, const std::vector<std::string>& added,
      const std::vector<std::string>& removed);
};

}  // namespace vigil::membership
