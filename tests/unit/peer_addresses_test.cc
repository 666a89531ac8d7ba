// Where each peer is, by id (daemon/peer_addresses.h): a reload that adds, moves or removes
// peers needs no re-indexing, and an address resolved for a peer's old configuration never
// serves its new one.
#include "daemon/peer_addresses.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::udp;

Endpoint Named(const std::string& host) { return {host, 7946, Endpoint::HostKind::kName}; }

PeerTable Peers(const std::vector<std::pair<std::string, Endpoint>>& list) {
  PeerTable peers;
  for (const auto& [id, address] : list) {
    PeerConfig c;
    c.id = id;
    c.address = address;
    peers.emplace_back(static_cast<PeerIndex>(peers.size()), c, std::chrono::seconds(1));
  }
  return peers;
}

TEST(PeerAddresses, FoundByIdOnlyForTheAddressItWasResolvedFrom) {
  PeerAddresses addresses;
  const udp::endpoint at(make_address("10.0.0.7"), 7946);
  addresses.Set("a", Named("a.example"), at);
  ASSERT_NE(addresses.Find("a", Named("a.example")), nullptr);
  EXPECT_EQ(*addresses.Find("a", Named("a.example")), at);
  EXPECT_EQ(addresses.Find("a", Named("b.example")), nullptr);  // moved: resolve again
  EXPECT_EQ(addresses.Find("b", Named("a.example")), nullptr);  // another peer
}

TEST(PeerAddresses, PruneKeepsUnchangedPeersWhateverTheirPlaceInTheTable) {
  PeerAddresses addresses;
  const udp::endpoint a(make_address("10.0.0.1"), 7946), b(make_address("10.0.0.2"), 7946),
      c(make_address("10.0.0.3"), 7946);
  addresses.Set("a", Named("a"), a);
  addresses.Set("b", Named("b"), b);
  addresses.Set("c", Named("c"), c);
  // A reload: a new peer first, b moved, c removed, a now last.
  const PeerTable table = Peers({{"new", Named("new")}, {"b", Named("b2")}, {"a", Named("a")}});
  addresses.Prune({table.begin(), table.end()});
  EXPECT_EQ(addresses.size(), 1u);
  ASSERT_NE(addresses.Find("a", Named("a")), nullptr);
  EXPECT_EQ(*addresses.Find("a", Named("a")), a);
  EXPECT_EQ(addresses.Find("b", Named("b2")), nullptr);
  EXPECT_EQ(addresses.Find("c", Named("c")), nullptr);
}

TEST(PeerAddresses, FindListedAnswersAsFindDoesAfterEverySetPruneAndRenumbering) {
  PeerAddresses addresses;
  const udp::endpoint a(make_address("10.0.0.1"), 7946), b(make_address("10.0.0.2"), 7946),
      b2(make_address("10.0.0.22"), 7946);
  PeerTable table = Peers({{"a", Named("a")}, {"b", Named("b")}});
  auto listed = [&] { return PeerRange{table.begin(), table.end()}; };
  addresses.Set("a", Named("a"), a);
  ASSERT_NE(addresses.FindListed(listed(), 0, 1), nullptr);
  EXPECT_EQ(*addresses.FindListed(listed(), 0, 1), a);
  EXPECT_EQ(addresses.FindListed(listed(), 1, 1), nullptr);  // b not resolved yet
  addresses.Set("b", Named("b"), b);                          // resolved meanwhile
  ASSERT_NE(addresses.FindListed(listed(), 1, 1), nullptr);
  EXPECT_EQ(*addresses.FindListed(listed(), 1, 1), b);
  addresses.Set("b", Named("b"), b2);  // re-resolved elsewhere (a host name's new address)
  EXPECT_EQ(*addresses.FindListed(listed(), 1, 1), b2);
  addresses.Set("a", Named("a3"), b);  // resolved for another configured address: not a's
  EXPECT_EQ(addresses.FindListed(listed(), 0, 1), nullptr);
  addresses.Set("a", Named("a"), a);
  EXPECT_EQ(*addresses.FindListed(listed(), 0, 1), a);
  // Renumbered by a reload (a new generation): b first, a moved to another host.
  table = Peers({{"b", Named("b")}, {"a", Named("a2")}});
  EXPECT_EQ(*addresses.FindListed(listed(), 0, 2), b2);
  EXPECT_EQ(addresses.FindListed(listed(), 1, 2), nullptr);  // a2 not resolved
  addresses.Prune(listed());
  EXPECT_EQ(addresses.size(), 1u);
  EXPECT_EQ(*addresses.FindListed(listed(), 0, 2), b2);
  // Fewer listed peers with the same generation still rebuilds.
  table = Peers({{"x", Named("x")}});
  EXPECT_EQ(addresses.FindListed(listed(), 0, 2), nullptr);
}

}  // namespace
}  // namespace vigil
