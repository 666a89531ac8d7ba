// The Daemon's peer addresses: literal ones at once, host names resolved (and retried every
// 10 s) by a coroutine, into addresses_, by peer id.
#include "daemon/daemon.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <set>
#include <utility>

#include <spdlog/spdlog.h>

namespace vigil {

namespace asio = boost::asio;
using asio::ip::udp;

void Daemon::ResolveLiteralPeers() {
  addresses_.Prune(node_->listed());
  std::size_t unresolved = 0;
  for (const PeerRecord& peer : node_->listed()) {
    const Endpoint& a = peer.address();
    if (addresses_.Find(peer.id, a)) continue;  // unchanged by a reload
    if (a.kind == Endpoint::HostKind::kName) {
      ++unresolved;
      continue;
    }
    udp::endpoint ep(asio::ip::make_address(a.host), a.port);
    if (!udp_->Reachable(ep)) {
      spdlog::error("peer {} at {} cannot be reached from a socket bound to {} (address family)",
                    peer.id, a.ToString(), self_.bind);
      continue;
    }
    addresses_.Set(peer.id, a, ep);
  }
  counters_.unresolved_peers = unresolved;
}

void Daemon::StartResolving(bool refresh_names) {
  // A reload asks for every host name to be looked up again (DNS may have changed); the
  // addresses already known keep serving until the new answers arrive.
  refresh_names_ = refresh_names_ || refresh_names;
  if (resolving_) {
    rescan_ = true;  // the running loop makes another pass over the table as it is now
    return;
  }
  if (counters_.unresolved_peers == 0 && !refresh_names_) return;
  resolving_ = true;
  // Ends by itself once every name resolved (or the daemon stops): a normal end.
  asio::co_spawn(io_, ResolveLoop(), Supervise("resolve", /*may_end=*/true));
}

asio::awaitable<void> Daemon::ResolveOne(udp::resolver& resolver, const std::string& id,
                                         const Endpoint& a, std::set<std::string>& warned) {
  auto [ec, results] = co_await resolver.async_resolve(a.host, std::to_string(a.port),
                                                       asio::as_tuple(asio::use_awaitable));
  // A reload while we waited may have moved or removed the peer: then this answer is moot.
  const auto index = node_->Find(id);
  if (stopping_ || !index || !(node_->peers()[*index].address() == a)) co_return;
  if (!ec) {
    for (const auto& r : results) {
      udp::endpoint ep = r.endpoint();  // Reachable may map it to the socket's family
      if (!udp_->Reachable(ep)) continue;
      addresses_.Set(id, a, ep);
      spdlog::info("peer {}: {} resolved to {}", id, a.host, ep.address().to_string());
      co_return;
    }
  }
  if (warned.insert(id).second) {
    spdlog::warn("peer {}: cannot resolve {}: {}; retrying every 10s", id, a.host,
                 ec ? ec.message() : "no address of a usable family");
  }
}

asio::awaitable<void> Daemon::ResolveLoop() {
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{resolving_};
  udp::resolver resolver(io_);
  std::set<std::string> warned;
  while (!stopping_) {
    // Names to resolve, copied: a reload may change the table while we wait (it sets
    // rescan_, and the pass below is followed by another over the table as it is then).
    const bool refresh = std::exchange(refresh_names_, false);
    rescan_ = false;
    std::vector<std::pair<std::string, Endpoint>> names;
    for (const PeerRecord& peer : node_->listed()) {
      if (peer.address().kind == Endpoint::HostKind::kName &&
          (refresh || !addresses_.Find(peer.id, peer.address()))) {
        names.emplace_back(peer.id, peer.address());
      }
    }
    for (const auto& [id, a] : names) {
      if (stopping_) break;
      co_await ResolveOne(resolver, id, a, warned);
    }
    // Counted on the live table, not the pass: a peer added or moved meanwhile counts.
    std::size_t unresolved = 0;
    for (const PeerRecord& peer : node_->listed()) {
      if (peer.address().kind == Endpoint::HostKind::kName &&
          !addresses_.Find(peer.id, peer.address())) {
        ++unresolved;
      }
    }
    counters_.unresolved_peers = unresolved;
    if (rescan_ || refresh_names_) continue;
    if (unresolved == 0) co_return;
    resolve_timer_.expires_after(std::chrono::seconds(10));
    co_await resolve_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace vigil
