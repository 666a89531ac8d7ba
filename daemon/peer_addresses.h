// Where each peer is: its configured address resolved to a socket endpoint, looked up by the
// peer's id (its identity). Nothing here is indexed by position in the peer table, so a
// reload (and, next, enrollment and membership) that adds, moves or removes peers needs no
// re-indexing: an entry counts only while it was resolved from the address the peer is
// configured with now.
#pragma once

#include <boost/asio/ip/udp.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/endpoint.h"
#include "daemon/node.h"

namespace vigil {

// Not thread-safe (the daemon's one thread). Pointers returned by Find stay valid until the
// entry is set again, erased or pruned.
class PeerAddresses {
 public:
  // Records that peer `id`, configured at `configured`, is at `at`.
  void Set(const std::string& id, const Endpoint& configured,
           const boost::asio::ip::udp::endpoint& at);
  // Where peer `id` configured at `configured` is; null while unresolved (or resolved from
  // an address it is no longer configured with).
  const boost::asio::ip::udp::endpoint* Find(std::string_view id,
                                             const Endpoint& configured) const;
  // Find(listed[index].id, listed[index].address()), for a heartbeat round: answered from a
  // table by position, so a round to 100,000 peers costs no hash lookups. The table is
  // rebuilt (one Find per listed peer) after a Prune, a Set that moves a peer to another
  // configured address, or when `table_generation` (Node::reconfigurations(): the table
  // was renumbered) or the number of listed peers changes; a peer unresolved when it was
  // built is looked up again until it is resolved.
  // Requires index < listed.size().
  const boost::asio::ip::udp::endpoint* FindListed(PeerRange listed, std::size_t index,
                                                   std::uint64_t table_generation);
  // Drops the entries of peers no longer in `peers` or configured elsewhere now.
  void Prune(PeerRange peers);
  std::size_t size() const { return by_id_.size(); }

 private:
  struct Entry {
    Endpoint configured;
    boost::asio::ip::udp::endpoint at;
  };
  std::unordered_map<std::string, Entry, StringViewHash, std::equal_to<>> by_id_;
  // FindListed's table: Find's answer for each listed peer, valid while by_position_valid_
  // and for the table generation it was built for.
  std::vector<const boost::asio::ip::udp::endpoint*> by_position_;
  bool by_position_valid_ = false;
  std::uint64_t by_position_generation_ = 0;
};

}  // namespace vigil
