// The Daemon's sending side: the heartbeat schedule, paced rounds, leaves.
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

namespace {

// How long a stop may spend waiting for room in the send buffer for its leaves.
constexpr Duration kSendToAllBudget = std::chrono::seconds(2);

}  // namespace

std::optional<std::size_t> Daemon::SendSlice(const RoundMessage& m, std::size_t begin,
                                             std::size_t end, bool wait_when_full) {
  const auto& peers = node_->peers();
  end = std::min(end, node_->listed_count());
  if (m.size == 0 || begin >= end) return std::nullopt;
  slice_buffers_.resize(kSendSliceSize);
  outgoing_.clear();
  slice_peers_.clear();
  for (std::size_t i = begin; i < end && outgoing_.size() < kSendSliceSize; ++i) {
    const udp::endpoint* to = addresses_.FindListed(node_->listed(), i, node_->reconfigurations());
    if (!to) continue;  // not resolved (yet)
    auto& buffer = slice_buffers_[outgoing_.size()];
    // Each peer gets back its own incarnation as we last heard it (the echo), in the wire
    // version it reads.
    const std::size_t size = composer_->Stamp(m, peers[i].echo, peers[i].wire_version, buffer);
    outgoing_.push_back({std::span<const std::uint8_t>(buffer.data(), size), to});
    slice_peers_.push_back(i);
  }
  auto& sent = m.type == MessageType::kLeave ? counters_.leaves_sent : counters_.heartbeats_sent;
  std::size_t pos = 0;
  while (pos < outgoing_.size()) {
    std::error_code ec;
    const std::size_t took = udp_->SendBatch(std::span(outgoing_).subspan(pos), &ec);
    sent += took;
    round_sent_ += took;
    pos += took;
    if (pos == outgoing_.size()) break;
    if (wait_when_full && (ec == std::errc::resource_unavailable_try_again ||
                           ec == std::errc::operation_would_block)) {
      return slice_peers_[pos];  // the caller waits for room, then resumes from there
    }
    ++counters_.send_errors;
    LogSendError(*outgoing_[pos].to, ec);
    ++pos;  // UDP promises nothing: this one is lost (ENOBUFS too), the others go on
  }
  return std::nullopt;
}

void Daemon::LogSendError(const udp::endpoint& to, const std::error_code& ec) {
  std::uint64_t suppressed = 0;
  if (reject_log_.Allow("send:" + to.address().to_string(), clock_.Now().mono, &suppressed)) {
    spdlog::warn("cannot send to {}: {}{}", to.address().to_string(), ec.message(),
                 suppressed ? fmt::format(" ({} more suppressed)", suppressed) : "");
  }
}

void Daemon::SendToAll(MessageType type) {
  // The leaves of a stop: nothing else runs meanwhile, so wait for a full send buffer right
  // here, for at most kSendToAllBudget in all.
  const RoundMessage m = composer_->NewRound(type, clock_.Now().mono);
  const MonoTime give_up = clock_.Now().mono + kSendToAllBudget;
  const std::size_t peers = node_->listed_count();  // enrolled peers are receive-only
  for (std::size_t begin = 0; begin < peers; begin += kSendSliceSize) {
    std::optional<std::size_t> resume = begin;
    while ((resume = SendSlice(m, *resume, begin + kSendSliceSize, true))) {
      const MonoTime now = clock_.Now().mono;
      if (now >= give_up || !udp_->WaitWritableFor(give_up - now)) {
        const std::size_t left = peers - *resume;
        counters_.send_errors += left;
        spdlog::warn("could not send {} to {} of {} peers within {} ms: the send buffer stayed "
                     "full",
                     type == MessageType::kLeave ? "a leave" : "a heartbeat", left,
                     peers, static_cast<std::int64_t>(ToMillis(kSendToAllBudget)));
        return;
      }
    }
  }
}

void Daemon::RestartSendSchedule() {
  send_progress_ = clock_.Now().mono;
  send_timer_.cancel();  // SendLoop notices the new interval and starts a new schedule
}

asio::awaitable<void> Daemon::PauseUntil(MonoTime t) {
  if (t <= clock_.Now().mono) {
    // Due already: still let every ready handler (receive, deadlines, API) run first.
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_return;
  }
  send_timer_.expires_at(TimerPoint(t));
  co_await send_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> Daemon::SendRound(MonoTime start) {
  const RoundMessage m = composer_->NewRound(MessageType::kHeartbeat, clock_.Now().mono);
  const RoundPlan plan = PlanRound(node_->listed_count(), config_.heartbeat.interval);
  round_sent_ = 0;
  for (std::size_t s = 0; s < plan.slices && !stopping_; ++s) {
    // A peer's place in the round is the same every round, so it sees one per interval.
    if (s > 0) co_await PauseUntil(start + plan.spacing * static_cast<std::int64_t>(s));
    // A reload may have changed the table meanwhile: SendSlice clamps to it.
    const SliceRange range = SliceOf(s, node_->listed_count());
    std::optional<std::size_t> resume = range.begin;
    while (!stopping_ && (resume = SendSlice(m, *resume, range.end, true))) {
      co_await udp_->WaitWritable();  // the send buffer is full: wait for room
      send_progress_ = clock_.Now().mono;
    }
    send_progress_ = clock_.Now().mono;
  }
}

void Daemon::NoteRoundDone(MonoTime start, MonoTime finished) {
  const Duration interval = config_.heartbeat.interval;
  const auto ms = [](Duration d) { return static_cast<std::int64_t>(ToMillis(d)); };
  switch (send_load_.OnRoundDone(start, finished, interval, round_sent_)) {
    case SendLoad::Change::kBecameOverloaded:
      spdlog::warn("overloaded: a heartbeat round to {} peers took {} ms, longer than "
                   "heartbeat.interval ({} ms); heartbeats leave late, so peers may suspect "
                   "this node. Peers are still judged. Lengthen heartbeat.interval or watch "
                   "fewer peers from this daemon",
                   round_sent_, ms(send_load_.last_round()), ms(interval));
      overload_note_ = fmt::format("overloaded: a heartbeat round to {} peers takes {} ms of a "
                                   "{} ms interval",
                                   round_sent_, ms(send_load_.last_round()), ms(interval));
      UpdateStatus();
      break;
    case SendLoad::Change::kRecovered:
      spdlog::info("no longer overloaded: heartbeat rounds to {} peers finish within the "
                   "interval again ({} ms)",
                   round_sent_, ms(send_load_.last_round()));
      overload_note_.clear();
      UpdateStatus();
      break;
    case SendLoad::Change::kNone:
      break;
  }
}

asio::awaitable<void> Daemon::SendLoop() {
  // Rounds keep their slots (NextRoundAfter); a round to many peers is cut into slices
  // (daemon/send_schedule.h).
  Duration interval = config_.heartbeat.interval;
  MonoTime slot = clock_.Now().mono;
  MonoTime start = slot;
  for (std::uint64_t round = 1; !stopping_; ++round) {
    if (round == 3 && FailpointActive("send")) throw std::runtime_error("failpoint 'send'");
    if (round == 3 && FailpointActive("send-stall")) {
      asio::steady_timer never(io_, asio::steady_timer::time_point::max());
      co_await never.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_await SendRound(start);
    if (stopping_) break;
    const MonoTime now = clock_.Now().mono;
    send_progress_ = now;  // also with no peer at all
    NoteRoundDone(start, now);
    // A reload changed the interval: a new schedule from now.
    if (config_.heartbeat.interval != interval) {
      interval = config_.heartbeat.interval;
      slot = now;
    }
    std::uniform_real_distribution<double> spread(-config_.heartbeat.jitter,
                                                  config_.heartbeat.jitter);
    const NextRound next = NextRoundAfter(slot, interval, now, spread(rng_));
    slot = next.slot;
    start = next.start;
    co_await PauseUntil(start);
  }
}

}  // namespace vigil
