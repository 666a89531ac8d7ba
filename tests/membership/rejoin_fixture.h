// The fixture of the coming-back tests (rejoin_test.cc, rejoin_returning_test.cc): a
// 40-member graph, nodes made on it, and a way to take a member out.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "membership/membership_node.h"

namespace vigil::membership::testing_rejoin {

using std::chrono::milliseconds;
using std::chrono::seconds;

inline const MonoTime kT0 = MonoTime{} + seconds(1000);

// Counts the graph changes it is asked for.
class CountingSource final : public GraphSource {
 public:
  std::shared_ptr<const ObserverGraph> Changed(const std::shared_ptr<const ObserverGraph>& from,
                                               const std::vector<std::string>& added,
                                               const std::vector<std::string>& removed) override {
    changes.push_back({added, removed});
    return GraphSource::Changed(from, added, removed);
  }
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> changes;
};

class RejoinTest : public ::testing::Test {
 public:
  RejoinTest() {
    std::vector<std::string> ids;
    for (int i = 0; i < 40; ++i) ids.push_back("m" + std::to_string(i));
    graph_ = std::make_shared<const ObserverGraph>(ObserverGraph::Build(ids, 8));
  }
  std::unique_ptr<MembershipNode> Make(const std::string& self,
                                       Duration tombstone_lifetime = std::chrono::hours(24)) {
    MembershipOptions o;
    o.self = self;
    o.tombstone_lifetime = tombstone_lifetime;
    auto node = std::make_unique<MembershipNode>(o, graph_, source_, kT0);
    node->set_on_removed([this](const std::string& id, MonoTime) { removed_.push_back(id); });
    node->set_on_readmitted(
        [this](const std::string& id, MonoTime at) { readmitted_.emplace_back(id, at); });
    return node;
  }
  std::string ObserverOf(const std::string& subject, int slot) const {
    return graph_->id(graph_->ObserversOf(*graph_->Find(subject))[slot]);
  }
  std::set<std::string> NeighboursOf(const std::string& id) const {
    std::set<std::string> out;
    for (MemberIndex n : graph_->NeighboursOf(*graph_->Find(id))) out.insert(graph_->id(n));
    return out;
  }
  // Anti-entropy's digests go out on their own schedule; tests of other messages drop them.
  static void DropDigests(Outbox& out) {
    std::erase_if(out.gossip, [](auto& entry) {
      entry.second.digests.clear();
      return entry.second.empty();
    });
  }
  static std::set<std::string> Destinations(const Outbox& out) {
    std::set<std::string> to;
    for (const auto& [id, gossip] : out.gossip) to.insert(id);
    return to;
  }
  // H = 5 observers of `subject` report its `incarnation`; `node` takes it out at `at`.
  void TakeOut(MembershipNode& node, const std::string& subject, std::uint64_t incarnation,
               MonoTime at) {
    Outbox out;
    for (int slot = 0; slot < 5; ++slot) {
      const Report r{ObserverOf(subject, slot), subject, incarnation, 1};
      node.OnGossip(Gossip{{r}, {}}, r.observer, at - seconds(1), out);
    }
    node.Tick(at, out);
    ASSERT_FALSE(node.view().Find(subject).has_value());
  }

  std::shared_ptr<const ObserverGraph> graph_;
  CountingSource source_;
  std::vector<std::string> removed_;
  std::vector<std::pair<std::string, MonoTime>> readmitted_;
};

}  // namespace vigil::membership::testing_rejoin
