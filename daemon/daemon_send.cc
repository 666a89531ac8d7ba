// The Daemon's sending side: resolving peer addresses and the heartbeat schedule.
#include "daemon/daemon.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/failpoint.h"
#include "daemon/send_schedule.h"

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

Daemon::RoundMessage Daemon::NewRound(MessageType type) {
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
  RoundMessage round;
  round.type = type;
  round.size = Encode(m, round.bytes);
  return round;
}

std::size_t Daemon::SendSlice(const RoundMessage& m, std::size_t begin, std::size_t end,
                              bool wait_when_full) {
  end = std::min(end, std::min(targets_.size(), node_->peers().size()));
  if (m.size == 0 || begin >= end) return end;
  slice_buffers_.resize(kSendSliceSize);
  outgoing_.clear();
  slice_peers_.clear();
  for (std::size_t i = begin; i < end && outgoing_.size() < kSendSliceSize; ++i) {
    if (!targets_[i]) continue;
    auto& buffer = slice_buffers_[outgoing_.size()];
    std::copy_n(m.bytes.begin(), m.size, buffer.begin());
    // Each peer gets back its own incarnation as we last heard it (the echo), which is
    // covered by the MAC, so the datagram is signed per peer.
    SetEcho(buffer, node_->peers()[i].echo);
    const std::size_t size = keyring_ ? Sign(buffer, m.size, keyring_->primary()) : m.size;
    outgoing_.push_back({std::span<const std::uint8_t>(buffer.data(), size), &*targets_[i]});
    slice_peers_.push_back(i);
  }
  auto& sent = m.type == MessageType::kLeave ? counters_.leaves_sent : counters_.heartbeats_sent;
  std::size_t pos = 0;
  while (pos < outgoing_.size()) {
    std::error_code ec;
    const std::size_t took = udp_->SendBatch(std::span(outgoing_).subspan(pos), &ec);
    sent += took;
    pos += took;
    if (pos == outgoing_.size()) break;
    if (wait_when_full && (ec == std::errc::resource_unavailable_try_again ||
                           ec == std::errc::operation_would_block)) {
      return slice_peers_[pos];  // the caller waits for room, then resumes from there
    }
    ++counters_.send_errors;
    LogSendError(*outgoing_[pos].to, ec);
    ++pos;  // UDP promises nothing: this one is lost, the others go on
  }
  return end;
}

void Daemon::LogSendError(const udp::endpoint& to, const std::error_code& ec) {
  std::uint64_t suppressed = 0;
  if (reject_log_.Allow("send:" + to.address().to_string(), clock_.Now().mono, &suppressed)) {
    spdlog::warn("cannot send to {}: {}{}", to.address().to_string(), ec.message(),
                 suppressed ? fmt::format(" ({} more suppressed)", suppressed) : "");
  }
}

void Daemon::SendToAll(MessageType type) {
  const RoundMessage m = NewRound(type);
  for (std::size_t begin = 0; begin < targets_.size(); begin += kSendSliceSize) {
    SendSlice(m, begin, begin + kSendSliceSize, /*wait_when_full=*/false);
  }
}

asio::awaitable<void> Daemon::PauseUntil(MonoTime t) {
  if (t <= clock_.Now().mono) {
    // Due already: still let every ready handler (receive, deadlines, API) run first.
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_return;
  }
  send_timer_.expires_at(asio::steady_timer::time_point(
      std::chrono::duration_cast<asio::steady_timer::duration>(t.time_since_epoch())));
  co_await send_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> Daemon::SendRound(MonoTime start) {
  const RoundMessage m = NewRound(MessageType::kHeartbeat);
  const RoundPlan plan = PlanRound(targets_.size(), config_.heartbeat_interval);
  for (std::size_t s = 0; s < plan.slices && !stopping_; ++s) {
    // A peer's place in the round is the same every round, so it sees one per interval.
    if (s > 0) co_await PauseUntil(start + plan.spacing * static_cast<std::int64_t>(s));
    const SliceRange range = SliceOf(s, targets_.size());  // a reload may have changed it
    std::size_t next = range.begin;
    while (!stopping_ && (next = SendSlice(m, next, range.end, true)) < range.end) {
      co_await udp_->WaitWritable();  // the send buffer is full: wait for room
      send_progress_ = clock_.Now().mono;
    }
    send_progress_ = clock_.Now().mono;
  }
  round_datagrams_ = targets_.size();
}

void Daemon::NoteRoundDone(MonoTime start, MonoTime finished) {
  const Duration interval = config_.heartbeat_interval;
  const auto ms = [](Duration d) { return static_cast<std::int64_t>(ToMillis(d)); };
  switch (send_load_.OnRoundDone(start, finished, interval, round_datagrams_)) {
    case SendLoad::Change::kBecameOverloaded:
      spdlog::warn("overloaded: a heartbeat round to {} peers took {} ms, longer than "
                   "heartbeat.interval ({} ms); heartbeats leave late, so peers may suspect "
                   "this node. Peers are still judged. Lengthen heartbeat.interval or watch "
                   "fewer peers from this daemon",
                   round_datagrams_, ms(send_load_.last_round()), ms(interval));
      overload_note_ = fmt::format("overloaded: a heartbeat round to {} peers takes {} ms of a "
                                   "{} ms interval",
                                   round_datagrams_, ms(send_load_.last_round()), ms(interval));
      UpdateStatus();
      break;
    case SendLoad::Change::kRecovered:
      spdlog::info("no longer overloaded: heartbeat rounds to {} peers finish within the "
                   "interval again ({} ms)",
                   round_datagrams_, ms(send_load_.last_round()));
      overload_note_.clear();
      UpdateStatus();
      break;
    case SendLoad::Change::kNone:
      break;
  }
}

asio::awaitable<void> Daemon::SendLoop() {
  // Round k is due at start + k·interval, and leaves within ±jitter of that slot. The
  // jitter spreads a cluster's sends so they do not go out in lockstep, but it does not
  // accumulate (as re-arming "interval after now" would, along with each wakeup's latency),
  // so receivers see exactly the interval announced and arrival offsets that only the
  // network moves. A round to many peers is cut into slices (daemon/send_schedule.h).
  MonoTime slot = clock_.Now().mono;
  MonoTime start = slot;
  for (int round = 1; !stopping_; ++round) {
    if (round == 3 && FailpointActive("send")) throw std::runtime_error("failpoint 'send'");
    if (round == 3 && FailpointActive("send-stall")) {
      asio::steady_timer never(io_, asio::steady_timer::time_point::max());
      co_await never.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_await SendRound(start);
    if (stopping_) break;
    const MonoTime now = clock_.Now().mono;
    NoteRoundDone(start, now);
    const Duration interval = config_.heartbeat_interval;
    slot += interval;
    // Fell a whole interval behind (suspended, starved, overloaded): start afresh rather
    // than burst.
    if (slot + interval < now) slot = now;
    std::uniform_real_distribution<double> spread(-config_.heartbeat_jitter,
                                                  config_.heartbeat_jitter);
    start = slot + std::chrono::duration_cast<Duration>(interval * spread(rng_));
    co_await PauseUntil(start);
  }
}

}  // namespace vigil
