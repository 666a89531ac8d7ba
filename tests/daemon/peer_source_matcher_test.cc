// The datagram intake's source check and reject-log key (daemon/peer_source_matcher.h): a
// datagram claiming to be from a peer must come from that peer's host, whatever the port
// (NAT) and whether the socket reports IPv4 senders plainly or IPv4-mapped (dual stack).
#include "daemon/peer_source_matcher.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

namespace vigil {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::udp;

udp::endpoint At(const std::string& host, std::uint16_t port = kDefaultPort) {
  return udp::endpoint(make_address(host), port);
}

Config TestConfig() {
  auto r = LoadConfigString(R"(node:
  id: me
peers:
  - id: a
    address: 127.0.0.2
  - id: b
    address: 127.0.0.3
  - id: six
    address: "[::1]:7946"
  - id: named
    address: peer-named.example
)",
                            "test.yaml");
  EXPECT_TRUE(r.ok()) << r.errors.front().ToString();
  return *r.config;
}

class PeerSourceMatcherTest : public ::testing::Test {
 protected:
  PeerSourceMatcherTest() : node(TestConfig(), Timestamp{}) {}

  // What the daemon does at start (Daemon::ResolveLiteralPeers): every literal address is
  // recorded at once, host names wait for the resolver. A dual-stack (IPv6) socket records
  // IPv4 peers in their mapped form, as UdpEndpoint::Reachable rewrites them.
  void ResolveLiterals(bool dual_stack = false) {
    for (const PeerRecord& peer : node.peers()) {
      if (peer.address().kind == Endpoint::HostKind::kName) continue;
      std::string host = peer.address().host;
      if (dual_stack && peer.address().kind == Endpoint::HostKind::kIPv4) host = "::ffff:" + host;
      addresses.Set(peer.id, peer.address(), At(host, peer.address().port));
    }
  }

  // Whether a datagram from `from` passes the source check as peer `id`.
  bool Matches(const udp::endpoint& from, const std::string& id) const {
    const PeerSourceMatcher matcher(from, node, addresses);
    const auto index = node.Find(id);
    EXPECT_TRUE(index.has_value()) << id;
    return index && matcher.Matches(*index);
  }

  Node node;
  PeerAddresses addresses;
};

TEST_F(PeerSourceMatcherTest, SameIPv4HostMatchesFromAnyPort) {
  ResolveLiterals();
  EXPECT_TRUE(Matches(At("127.0.0.2", 7946), "a"));
  EXPECT_TRUE(Matches(At("127.0.0.2", 40001), "a"));  // NAT rewrote the source port
}

TEST_F(PeerSourceMatcherTest, AnotherHostDoesNotMatch) {
  ResolveLiterals();
  EXPECT_FALSE(Matches(At("127.0.0.9"), "a"));
  // Another configured peer's host claiming to be a: still not a's host.
  EXPECT_FALSE(Matches(At("127.0.0.3"), "a"));
  EXPECT_TRUE(Matches(At("127.0.0.3"), "b"));
}

TEST_F(PeerSourceMatcherTest, IPv4PeerMatchesItsMappedFormAndTheReverse) {
  ResolveLiterals();
  EXPECT_TRUE(Matches(At("::ffff:127.0.0.2", 40001), "a"));
  EXPECT_FALSE(Matches(At("::ffff:127.0.0.9"), "a"));

  addresses = PeerAddresses();
  ResolveLiterals(/*dual_stack=*/true);  // now recorded as ::ffff:127.0.0.2
  EXPECT_TRUE(Matches(At("::ffff:127.0.0.2"), "a"));
  EXPECT_TRUE(Matches(At("127.0.0.2", 40001), "a"));
  EXPECT_FALSE(Matches(At("127.0.0.9"), "a"));
}

TEST_F(PeerSourceMatcherTest, IPv6PeerMatchesOnlyItsOwnHost) {
  ResolveLiterals();
  EXPECT_TRUE(Matches(At("::1", 7946), "six"));
  EXPECT_TRUE(Matches(At("::1", 50000), "six"));
  EXPECT_FALSE(Matches(At("::2"), "six"));
  EXPECT_FALSE(Matches(At("127.0.0.1"), "six"));
}

TEST_F(PeerSourceMatcherTest, UnresolvedPeerMatchesAnySourceUntilResolved) {
  ResolveLiterals();
  // Nothing to compare with while its name is being looked up: refusing would drop it.
  EXPECT_TRUE(Matches(At("10.0.0.8"), "named"));
  EXPECT_TRUE(Matches(At("::2"), "named"));

  const PeerRecord& named = node.peers()[*node.Find("named")];
  addresses.Set(named.id, named.address(), At("10.0.0.9", named.address().port));
  EXPECT_TRUE(Matches(At("10.0.0.9", 40001), "named"));
  EXPECT_FALSE(Matches(At("10.0.0.8"), "named"));
}

TEST(SameHost, ComparesHostsNotPorts) {
  EXPECT_TRUE(SameHost(At("10.0.0.1", 1), At("10.0.0.1", 2)));
  EXPECT_FALSE(SameHost(At("10.0.0.1"), At("10.0.0.2")));
  EXPECT_TRUE(SameHost(At("fe80::1", 1), At("fe80::1", 2)));
  EXPECT_FALSE(SameHost(At("::1"), At("::2")));
}

TEST(SameHost, IPv4EqualsItsMappedFormOnly) {
  EXPECT_TRUE(SameHost(At("10.0.0.1"), At("::ffff:10.0.0.1", 9)));
  EXPECT_TRUE(SameHost(At("::ffff:10.0.0.1"), At("10.0.0.1")));
  EXPECT_TRUE(SameHost(At("::ffff:10.0.0.1"), At("::ffff:10.0.0.1")));
  EXPECT_FALSE(SameHost(At("10.0.0.1"), At("::ffff:10.0.0.2")));
  // The deprecated IPv4-compatible form (::10.0.0.1) is another IPv6 address, not an alias.
  EXPECT_FALSE(SameHost(At("10.0.0.1"), At("::10.0.0.1")));
  EXPECT_FALSE(SameHost(At("127.0.0.1"), At("::1")));
}

TEST(HostKey, OneKeyPerHostWhateverThePortOrForm) {
  EXPECT_EQ(HostKey(At("10.0.0.1", 1)), HostKey(At("10.0.0.1", 2)));
  EXPECT_EQ(HostKey(At("10.0.0.1", 1)), HostKey(At("::ffff:10.0.0.1", 2)));
  EXPECT_EQ(HostKey(At("::1", 1)), HostKey(At("::1", 2)));
  EXPECT_NE(HostKey(At("10.0.0.1")), HostKey(At("10.0.0.2")));
  EXPECT_NE(HostKey(At("::1")), HostKey(At("::2")));
  EXPECT_NE(HostKey(At("127.0.0.1")), HostKey(At("::1")));
}

// The reject log and the source check agree on what one host is: a flood that passes as
// one host to the check is one source to the log, and the reverse.
TEST(HostKey, EqualExactlyWhenSameHost) {
  const std::vector<udp::endpoint> all = {
      At("10.0.0.1", 1), At("10.0.0.1", 2), At("::ffff:10.0.0.1", 3), At("10.0.0.2"),
      At("::ffff:10.0.0.2"), At("::1"), At("::1", 5), At("::2"), At("::10.0.0.1"),
  };
  for (const auto& a : all) {
    for (const auto& b : all) {
      EXPECT_EQ(HostKey(a) == HostKey(b), SameHost(a, b))
          << a.address().to_string() << " vs " << b.address().to_string();
    }
  }
}

}  // namespace
}  // namespace vigil
