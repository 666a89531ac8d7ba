// The datagram intake's source check: did a datagram claiming to be from a peer come from
// the host that peer is at? And the per-host key the reject log is rate-limited by.
//
// Hosts, never ports: behind NAT a peer may send from a port other than the one it is
// configured at (and listens on). An IPv4 address and its IPv4-mapped IPv6 form
// (::ffff:a.b.c.d, what a dual-stack socket reports) are the same host.
#pragma once

#include <boost/asio/ip/address_v6.hpp>
#include <boost/asio/ip/udp.hpp>

#include "daemon/node.h"
#include "daemon/peer_addresses.h"

namespace vigil {

// True if `a` and `b` are the same host, whatever their ports; an IPv4-mapped IPv6 address
// equals its IPv4 form.
bool SameHost(const boost::asio::ip::udp::endpoint& a, const boost::asio::ip::udp::endpoint& b);

// The 16 bytes of `from`'s host as IPv6 (IPv4 mapped to ::ffff:a.b.c.d), port dropped: a
// key for per-source state that a host sending from many ports, or seen by both an IPv4 and
// a dual-stack socket, cannot multiply. Raw bytes, so a lookup by it needs no allocation.
boost::asio::ip::address_v6::bytes_type HostKey(const boost::asio::ip::udp::endpoint& from);

// The SourceMatcher of one received datagram: Matches(peer) is true if `from` is the host
// `addresses` holds for that peer of `node`, or if the peer is not resolved yet (nothing to
// compare with: a host name still being looked up).
//
// Holds references to all three: build one per datagram, on the stack, and let it go
// before the node's peer table or the addresses change (a reload, the resolve loop).
// Not thread-safe: the daemon's one thread, like Node and PeerAddresses.
class PeerSourceMatcher final : public SourceMatcher {
 public:
  PeerSourceMatcher(const boost::asio::ip::udp::endpoint& from, const Node& node,
                    const PeerAddresses& addresses)
      : from_(from), node_(node), addresses_(addresses) {}

  bool Matches(PeerIndex peer) const override;

 private:
  const boost::asio::ip::udp::endpoint& from_;
  const Node& node_;
  const PeerAddresses& addresses_;
};

}  // namespace vigil
