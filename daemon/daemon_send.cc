// The Daemon's sending side: resolving peer addresses and the heartbeat schedule.
#include "daemon/daemon.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/failpoint.h"

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

void Daemon::SendToAll(MessageType type) {
  Message m;
  m.type = type;
  m.incarnation = incarnation_;
  m.sequence = ++sequence_;  // one per round: every peer gets the same number
  m.interval_us = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(config_.heartbeat_interval).count());
  m.send_time_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.Now().mono.time_since_epoch())
          .count());
  m.sender_id = config_.node_id;
  std::array<std::uint8_t, kMaxMessageSize> buffer{};
  const std::size_t unsigned_size = Encode(m, buffer);
  if (unsigned_size == 0) return;
  if (targets_.size() != node_->peers().size()) return;  // mid-reload; never happens
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    const auto& target = targets_[i];
    if (!target) continue;
    // Each peer gets back its own incarnation as we last heard it (the echo), which is
    // covered by the MAC, so the datagram is signed per peer.
    SetEcho(buffer, node_->peers()[i].echo);
    const std::size_t size =
        keyring_ ? Sign(buffer, unsigned_size, keyring_->primary()) : unsigned_size;
    std::error_code ec;
    if (udp_->SendTo(std::span<const std::uint8_t>(buffer.data(), size), *target, &ec)) {
      type == MessageType::kLeave ? ++counters_.leaves_sent : ++counters_.heartbeats_sent;
    } else {
      ++counters_.send_errors;
      std::uint64_t suppressed = 0;
      if (reject_log_.Allow("send:" + target->address().to_string(), clock_.Now().mono,
                            &suppressed)) {
        spdlog::warn("cannot send to {}: {}{}", target->address().to_string(), ec.message(),
                     suppressed ? fmt::format(" ({} more suppressed)", suppressed) : "");
      }
    }
  }
}

asio::awaitable<void> Daemon::SendLoop() {
  // Heartbeat k is due at start + k·interval, and leaves within ±jitter of that slot. The
  // jitter spreads a cluster's sends so they do not go out in lockstep, but it does not
  // accumulate (as re-arming "interval after now" would, along with each wakeup's latency),
  // so receivers see exactly the interval announced and arrival offsets that only the
  // network moves.
  using TimerClock = asio::steady_timer::clock_type;
  auto slot = TimerClock::now();
  for (int round = 1; !stopping_; ++round) {
    if (round == 3 && FailpointActive("send")) throw std::runtime_error("failpoint 'send'");
    if (round == 3 && FailpointActive("send-stall")) {
      asio::steady_timer never(io_, TimerClock::time_point::max());
      co_await never.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    SendToAll(MessageType::kHeartbeat);
    const auto interval =
        std::chrono::duration_cast<TimerClock::duration>(config_.heartbeat_interval);
    slot += interval;
    // Fell a whole interval behind (suspended, starved): start afresh rather than burst.
    if (slot + interval < TimerClock::now()) slot = TimerClock::now();
    std::uniform_real_distribution<double> spread(-config_.heartbeat_jitter,
                                                  config_.heartbeat_jitter);
    send_timer_.expires_at(
        slot + std::chrono::duration_cast<TimerClock::duration>(interval * spread(rng_)));
    co_await send_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace vigil
