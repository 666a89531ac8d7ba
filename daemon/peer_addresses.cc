#include "daemon/peer_addresses.h"

namespace vigil {

void PeerAddresses::Set(const std::string& id, const Endpoint& configured,
                        const boost::asio::ip::udp::endpoint& at) {
  const auto it = by_id_.find(id);
  if (it != by_id_.end() && it->second.configured == configured) {
    // Re-resolved (a host name's address may change): updated in place, so what
    // FindListed's table points to now says the new address.
    it->second.at = at;
    return;
  }
  // A new peer's entry (FindListed's table has null for it, and looks again), or a peer
  // configured elsewhere now (its cached entry would answer for the old address).
  if (it != by_id_.end()) by_position_valid_ = false;
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
    if (it != by_id_.end() && it->second.configured == peer.address()) kept.insert(*it);
  }
  by_id_ = std::move(kept);
  by_position_valid_ = false;
}

const boost::asio::ip::udp::endpoint* PeerAddresses::FindListed(PeerRange listed,
                                                                std::size_t index,
                                                                std::uint64_t table_generation) {
  if (!by_position_valid_ || by_position_generation_ != table_generation ||
      by_position_.size() != listed.size()) {
    by_position_.clear();
    by_position_.reserve(listed.size());
    for (const auto& peer : listed) by_position_.push_back(Find(peer.id, peer.address()));
    by_position_valid_ = true;
    by_position_generation_ = table_generation;
  }
  // Null: not resolved when the table was built; it may be by now (Set keeps the table).
  const boost::asio::ip::udp::endpoint* at = by_position_[index];
  if (at == nullptr) {
    const auto& peer = *(listed.begin() + static_cast<std::ptrdiff_t>(index));
    at = Find(peer.id, peer.address());
    by_position_[index] = at;
  }
  return at;
}

}  // namespace vigil
