// The Daemon's receiving side: judging datagrams, logging rejects, running deadlines.
#include "daemon/daemon.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/failpoint.h"
#include "daemon/peer_source_matcher.h"

namespace vigil {

namespace asio = boost::asio;

namespace {

constexpr Duration kDeadlineLoopBeat = std::chrono::seconds(1);
// Enrolled peers silent past enrollment.retention are forgotten by a pass over the table in
// slices (Node::ForgetSliceSize), one every kForgetEvery (a few milliseconds of the loop at
// most): a peer is forgotten at most two passes after its retention ran out.
constexpr Duration kForgetEvery = std::chrono::milliseconds(250);
// Remembered records moved per compaction step (about 2 ms of the loop), on the same beat.
constexpr std::size_t kCompactSlice = 20'000;

}  // namespace

asio::awaitable<void> Daemon::DeadlineLoop() {
  for (std::uint64_t round = 1; !stopping_; ++round) {
    if (round == 3 && FailpointActive("deadline")) {
      throw std::runtime_error("failpoint 'deadline'");
    }
    // Wakes at least once a second even with nothing due, to show it still runs (the
    // watchdog pings systemd only while it does).
    deadline_progress_ = clock_.Now().mono;
    const MonoTime due = node_->NextWakeup();
    // With enrolled peers, also when the next forgetting slice is due.
    const MonoTime beat = std::min(deadline_progress_ + kDeadlineLoopBeat,
                                   node_->enrolled_count() > 0 ||
                                           node_->remembered_compaction_due()
                                       ? next_forget_
                                       : kNever);
    armed_deadline_ = due <= beat ? due : kNever;
    deadline_timer_.expires_at(TimerPoint(std::min(due, beat)));
    co_await deadline_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    // Cancelled means an earlier deadline appeared: loop to re-arm. Either way run what is
    // due, unless this daemon was itself not listening a moment ago.
    // A heartbeat waiting out the receive loop's coalescing window is not silence: hand it
    // over before judging (only when a deadline is due: re-arms wake this loop too).
    if (udp_->holding() && node_->NextWakeup() <= clock_.Now().mono) udp_->DrainPending();
    const Timestamp now = clock_.Now();
    CheckLocalHealth(now);
    node_->RunDue(now, health_.hold_until());
    if (now.mono >= next_forget_) {
      next_forget_ = now.mono + kForgetEvery;
      const std::size_t forget_slice = Node::ForgetSliceSize(
          node_->enrolled_count(), config_.enrollment.retention, kForgetEvery);
      if (const std::size_t n = node_->ForgetSilent(now, health_.hold_until(), forget_slice)) {
        spdlog::info("forgot {} enrolled peer(s) silent for more than enrollment.retention; "
                     "{} remembered", n, node_->remembered_count());
        enrollment_full_logged_ = false;
      }
      // Remembered peers heard again leave dead records behind: slid over in steps, never
      // while a state-file snapshot walks the remembered table.
      if (!snapshot_walking_remembered_ && node_->remembered_compaction_due()) {
        node_->CompactRemembered(kCompactSlice);
      }
    }
  }
}

void Daemon::OnBatch(std::span<const ReceivedDatagram> batch) {
  if (++batches_ == 3 && FailpointActive("receive")) throw std::runtime_error("failpoint 'receive'");
  const Timestamp now = clock_.Now();
  CheckLocalHealth(now);
  counters_.receive_buffer_drops = udp_->kernel_drops();
  if (cluster_) ObserveKernelDrops(now.mono);
  // The batch's cache misses on peer state, overlapped before it is judged (Node::Prefetch).
  static_assert(UdpEndpoint::kBatchSize <= Node::kPrefetchBatch);
  std::array<std::span<const std::uint8_t>, Node::kPrefetchBatch> views;
  const std::size_t ahead = std::min(batch.size(), views.size());
  for (std::size_t i = 0; i < ahead; ++i) views[i] = batch[i].data;
  node_->Prefetch(std::span(views.data(), ahead));
  for (const auto& d : batch) {
    if (cluster_ && ToCluster(d, now.mono)) continue;
    // Every datagram is decoded and judged on its own: no per-address limit, which a flood
    // from a peer's own (or a shared NAT) address would turn against the peer.
    const PeerSourceMatcher matcher(d.from, *node_, addresses_);
    const auto rejected = node_->OnDatagram(d.data, d.truncated, now,
                                            config_.security.check_source_address ? &matcher : nullptr);
    if (rejected) LogReject(d, *rejected, now.mono);
  }
  // A heartbeat may have brought a deadline earlier than the one the timer waits for, or
  // moved the one it waits for later (then the timer would wake for nothing): re-arm. Once
  // per batch at most, and a re-arm costs no sleep and wake-up of the thread.
  const MonoTime wake = node_->NextWakeup();
  if ((wake != kNever && TimerPoint(wake) < deadline_timer_.expiry()) ||
      (armed_deadline_ != kNever && wake > armed_deadline_)) {
    armed_deadline_ = kNever;  // until the loop re-arms: one cancel is enough
    deadline_timer_.cancel();
  }
}

bool Daemon::AllowRejectLog(const ReceivedDatagram& d, MonoTime now, std::uint64_t* suppressed) {
  // Keyed by the host's raw bytes: no allocation for a source already tracked, so a
  // flood costs a hash lookup per datagram, and sending from many ports earns no more lines.
  const auto bytes = HostKey(d.from);
  const std::string_view key(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return reject_log_.Allow(key, now, suppressed);
}

void Daemon::LogReject(const ReceivedDatagram& d, RejectReason reason, MonoTime now) {
  if (reason == RejectReason::kEnrollmentFull) {
    if (std::exchange(enrollment_full_logged_, true)) return;
    spdlog::warn("enrollment.max_peers ({}) reached: new senders are refused and counted as "
                 "rejected (enrollment_full); the {} enrolled peers are kept",
                 config_.enrollment.max_peers, node_->enrolled_count());
    return;
  }
  std::uint64_t suppressed = 0;
  if (!AllowRejectLog(d, now, &suppressed)) return;
  std::string detail;
  if (reason == RejectReason::kUnknownSender || reason == RejectReason::kUnconfirmed) {
    Message m;
    RejectReason ignored{};
    if (Decode(d.data, &m, &ignored) == DecodeStatus::kOk) {
      detail = fmt::format(", claiming to be '{}'", m.sender_id);
    }
    if (reason == RejectReason::kUnconfirmed) {
      detail += "; it does not echo our incarnation yet: the peer has not heard from us, does "
                "not list us as a peer, or is older than vigil 0.2 (security.require_echo)";
    }
  }
  spdlog::warn("rejected datagram from {}:{}: {} ({} bytes{}){}", d.from.address().to_string(),
               d.from.port(), RejectReasonName(reason), d.data.size(), detail,
               suppressed ? fmt::format("; {} more from this address suppressed", suppressed) : "");
}

}  // namespace vigil
