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

}  // namespace
}  // namespace vigil
