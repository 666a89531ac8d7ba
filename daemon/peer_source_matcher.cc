#include "daemon/peer_source_matcher.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/address_v4.hpp>

namespace vigil {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

// A dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d while a peer's literal IPv4
// address resolves to plain IPv4 (or the reverse): compare both in their IPv4 form.
asio::ip::address Unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

}  // namespace

bool SameHost(const udp::endpoint& a, const udp::endpoint& b) {
  return Unmapped(a.address()) == Unmapped(b.address());
}

asio::ip::address_v6::bytes_type HostKey(const udp::endpoint& from) {
  const asio::ip::address a = from.address();
  const asio::ip::address_v6 v6 =
      a.is_v6() ? a.to_v6() : asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
  return v6.to_bytes();
}

bool PeerSourceMatcher::Matches(PeerIndex peer) const {
  const PeerRecord& record = node_.peers()[peer];
  const udp::endpoint* at = addresses_.Find(record.id, record.address());
  if (!at) return true;  // unresolved: cannot tell, and refusing would drop a live peer
  return SameHost(from_, *at);
}

}  // namespace vigil
