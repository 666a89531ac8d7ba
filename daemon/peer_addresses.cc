#include "daemon/peer_addresses.h"

namespace vigil {

void PeerAddresses::Set(const std::string& id, const Endpoint& configured,
                        const boost::asio::ip::udp::endpoint& at) {
  by_id_.insert_or_assign(id, Entry{configured, at});
}

const boost::asio::ip::udp::endpoint* PeerAddresses::Find(std::string_view id,
                                                          const Endpoint& configured) const {
  const auto it = by_id_.find(id);
  if (it == by_id_.end() || !(it->second.configured == configured)) return nullptr;
  return &it->second.at;
}

void PeerAddresses::Prune(PeerRange peers) {
  std::unordered_map<std::string, Entry, StringViewHash, std::equal_to<>> kept;
  for (const auto& peer : peers) {
    const auto it = by_id_.find(peer.id);
    if (it != by_id_.end() && it->second.configured == peer.address) kept.insert(*it);
  }
  by_id_ = std::move(kept);
}

}  // namespace vigil
