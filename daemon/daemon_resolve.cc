// The Daemon's peer addresses: literal ones at once, host names resolved (and retried every
// 10 s) by a coroutine, into targets_, one per peer index.
#include "daemon/daemon.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

namespace vigil {

namespace asio = boost::asio;
using asio::ip::udp;

void Daemon::ResolveLiteralPeers() {
  targets_.assign(node_->peers().size(), std::nullopt);
  std::size_t unresolved = 0;
  for (std::size_t i = 0; i < node_->peers().size(); ++i) {
    const Endpoint& a = node_->peers()[i].address;
    if (a.kind == Endpoint::HostKind::kName) {
      ++unresolved;
      continue;
    }
    udp::endpoint ep(asio::ip::make_address(a.host), a.port);
    if (!udp_->Reachable(ep)) {
      spdlog::error("peer {} at {} cannot be reached from a socket bound to {} (address family)",
                    node_->peers()[i].id, a.ToString(), self_.bind);
      continue;
    }
    targets_[i] = ep;
  }
  counters_.unresolved_peers = unresolved;
}

void Daemon::StartResolving() {
  if (resolving_ || counters_.unresolved_peers == 0) return;
  resolving_ = true;
  asio::co_spawn(io_, ResolveLoop(), asio::detached);
}

asio::awaitable<void> Daemon::ResolveLoop() {
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{resolving_};
  udp::resolver resolver(io_);
  std::vector<bool> warned(node_->peers().size(), false);
  while (!stopping_) {
    std::size_t unresolved = 0;
    for (std::size_t i = 0; i < node_->peers().size() && !stopping_; ++i) {
      const Endpoint a = node_->peers()[i].address;  // a copy: a reload may run meanwhile
      const std::string id = node_->peers()[i].id;
      if (a.kind != Endpoint::HostKind::kName || targets_[i]) continue;
      auto [ec, results] = co_await resolver.async_resolve(
          a.host, std::to_string(a.port), asio::as_tuple(asio::use_awaitable));
      if (stopping_) break;
      // A reload while we waited may have moved or removed this peer: start over.
      if (i >= node_->peers().size() || node_->peers()[i].id != id ||
          !(node_->peers()[i].address == a) || targets_.size() != node_->peers().size()) {
        ++unresolved;
        break;
      }
      bool found = false;
      if (!ec) {
        for (const auto& r : results) {
          udp::endpoint ep = r.endpoint();
          if (udp_->Reachable(ep)) {
            targets_[i] = ep;
            found = true;
            spdlog::info("peer {}: {} resolved to {}", node_->peers()[i].id, a.host,
                         ep.address().to_string());
            break;
          }
        }
      }
      if (!found) {
        ++unresolved;
        if (i < warned.size() && !warned[i]) {
          warned[i] = true;
          spdlog::warn("peer {}: cannot resolve {}: {}; retrying every 10s",
                       node_->peers()[i].id, a.host,
                       ec ? ec.message() : "no address of a usable family");
        }
      }
    }
    counters_.unresolved_peers = unresolved;
    if (unresolved == 0) co_return;
    resolve_timer_.expires_after(std::chrono::seconds(10));
    co_await resolve_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace vigil
