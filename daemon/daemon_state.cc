// The Daemon's state file: restored at start, written periodically, soon after a
// transition, and as it stops.
#include "daemon/daemon.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/state_codec.h"
#include "preflight/startup_check.h"

namespace vigil {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

// A transition is written this soon (coalesced), so a peer first heard, or convicted, moments
// before a SIGKILL is in the file the next run reads; with many peers, no sooner than
// kTransitionWriteDelayPerPeer each, so writing the whole table after every burst of
// transitions (a million enrollments) does not become most of the daemon's work.
constexpr Duration kTransitionWriteDelay = std::chrono::milliseconds(250);
constexpr Duration kTransitionWriteDelayPerPeer = std::chrono::microseconds(10);
// Peers the snapshot takes per turn of the event loop (a few milliseconds of it at most;
// vigil_state_snapshot_longest_step_seconds shows it).
constexpr std::size_t kSnapshotSlice = 5'000;
// The largest state-file buffer kept from one write to the next (about 75,000 records).
constexpr std::size_t kKeptStateBuffer = std::size_t{4} << 20;

}  // namespace

Status Daemon::LockStateDirectory() {
  if (auto problem = StateDirectoryProblem(config_.state.directory)) {
    return Status::InvalidArgument("state.directory: " + *problem);
  }
  std::error_code ec;
  std::filesystem::create_directories(config_.state.directory, ec);
  if (ec) {
    return Status::IOError(fmt::format("state.directory: cannot create {}: {}",
                                       config_.state.directory, ec.message()));
  }
  auto lock = StateDirectoryLock::Acquire(config_.state.directory);
  if (!lock) return lock.status();
  state_lock_.emplace(std::move(lock).value());
  return Status::OK();
}

void Daemon::LoadState() {
  node_->set_own_incarnation(incarnation_);
  auto read = ReadStateFile(config_.state.directory, config_.node.id);
  if (read.status().code() == Status::Code::kNotFound) {
    spdlog::info("no state file in {}: starting fresh", config_.state.directory);
    return;
  }
  if (!read) {
    const std::string moved = QuarantineStateFile(config_.state.directory, started_.wall);
    spdlog::error("ignoring the state file: {}; {}", read.message(),
                  moved.empty() ? "could not move it aside" : "moved it to " + moved);
    return;
  }
  const PersistedState& state = *read;
  // Never reuse an incarnation, even if the wall clock went back since the last run.
  incarnation_ = std::max(incarnation_, state.incarnation + 1);
  node_->set_own_incarnation(incarnation_);
  node_->Restore(state, started_);
  spdlog::info("state file: restored what the previous run (incarnation {}, {}) knew from "
               "{} peer records; their states stand until they are heard or their allowance passes",
               state.incarnation, state.clean_stop ? "stopped cleanly" : "not stopped cleanly",
               state.peers.size());
}

void Daemon::SaveState(bool clean_stop) {
  // The last write of a run: after any write the writer thread has in progress, never
  // overwritten by an older snapshot.
  if (state_writer_) state_writer_->Stop();
  OnStateWritten(WriteStateFile(config_.state.directory, node_->Snapshot(clock_.Now(), clean_stop)));
}

asio::awaitable<void> Daemon::SaveStateInBackground() {
  if (!state_writer_) {
    state_writer_ = std::make_unique<StateWriter>(
        io_, config_.state.directory, [this](const Status& written, std::string spent) {
          // A small buffer is kept to build the next file in; a large one (a big table) is
          // given back: 50 bytes per peer held between writes would double the memory of a
          // remembered peer, and the next write touches its fresh pages a slice at a time.
          if (spent.capacity() <= kKeptStateBuffer) state_buffer_ = std::move(spent);
          OnStateWritten(written);
        });
  }
  // Encoded straight from the table in slices, yielding between them, so datagrams,
  // deadlines and the API are served while a large table is copied; the writer thread
  // checksums and writes it.
  StateFileBuilder file;
  const Node::PeerSink add = [&file](const PeerFields& f) { file.Add(f); };
  Duration longest{};
  const auto step = [&](const std::function<void()>& work) { TimedStep(longest, work); };
  std::optional<std::uint64_t> after;
  step([&] {
    file.Begin(node_->SnapshotHeader(clock_.Now(), false), std::move(state_buffer_),
               node_->peers().size() + node_->remembered_count());
    after = node_->SnapshotSlice(std::nullopt, kSnapshotSlice, add);
  });
  std::uint64_t generation = node_->reconfigurations();
  while (after) {
    co_await asio::post(io_, asio::use_awaitable);
    if (stopping_) co_return;  // the final write of the stop takes its own snapshot
    if (node_->reconfigurations() != generation) {
      // A reload renumbered the listed peers, so the place is lost: take it whole instead.
      step([&] {
        file.Begin(node_->SnapshotHeader(clock_.Now(), false), file.Finish());
        node_->SnapshotSlice(std::nullopt, node_->peers().size(), add);
      });
      generation = node_->reconfigurations();  // taken whole as it is now
      break;
    }
    step([&] { after = node_->SnapshotSlice(after, kSnapshotSlice, add); });
  }
  if (!co_await SnapshotRemembered(add, generation, longest)) co_return;
  counters_.state_snapshot_longest_step = ToMillis(longest) / 1000.0;
  snapshot_records_ = file.records();
  state_writer_->Submit(file.Finish());
}

void Daemon::TimedStep(Duration& longest, const std::function<void()>& work) {
  const MonoTime start = clock_.Now().mono;
  work();
  longest = std::max(longest, clock_.Now().mono - start);
}

asio::awaitable<bool> Daemon::SnapshotRemembered(const Node::PeerSink& add,
                                                  std::uint64_t generation, Duration& longest) {
  // No compaction moves the remembered records while this walks them (cleared however the
  // coroutine ends).
  struct Walking {
    bool& flag;
    explicit Walking(bool& f) : flag(f) { flag = true; }
    ~Walking() { flag = false; }
  } walking(snapshot_walking_remembered_);
  const std::optional<std::uint64_t> tracked_end =
      node_->peers().empty() ? std::nullopt : std::optional(node_->peers().back().order);
  std::optional<std::uint64_t> cursor = 0;
  while (cursor) {
    TimedStep(longest, [&] { cursor = node_->RememberedSlice(*cursor, kSnapshotSlice, add); });
    if (!cursor) break;
    co_await asio::post(io_, asio::use_awaitable);
    if (stopping_) co_return false;  // the final write of the stop takes its own snapshot
  }
  // A remembered peer heard again during that walk left the remembered table before the
  // walk met it, and came back to the tracked table after its last slice: appended now,
  // in the same turn as the last remembered slice, so no one falls between the two.
  TimedStep(longest, [&] {
    if (node_->reconfigurations() != generation) {
      node_->SnapshotSlice(std::nullopt, node_->peers().size(), add);  // renumbered: all
    } else {
      node_->SnapshotSlice(tracked_end, node_->peers().size(), add);
    }
  });
  co_return true;
}

void Daemon::OnStateWritten(const Status& written) {
  if (written.ok()) {
    ++counters_.state_writes;
    return;
  }
  ++counters_.state_write_errors;
  std::uint64_t suppressed = 0;
  if (reject_log_.Allow("state-file", clock_.Now().mono, &suppressed)) {
    spdlog::error("state file: {}", written.message());
  }
}

void Daemon::WriteStateSoon() {
  if (write_state_soon_ || stopping_) return;
  write_state_soon_ = true;
  const Duration delay = std::max<Duration>(
      kTransitionWriteDelay,
      kTransitionWriteDelayPerPeer * static_cast<std::int64_t>(node_->peers().size()));
  const auto soon = TimerPoint(clock_.Now().mono + delay);
  if (soon < state_timer_.expiry()) state_timer_.expires_at(soon);  // wakes StateLoop to re-arm
}

asio::awaitable<void> Daemon::StateLoop() {
  // Times come from the injected clock; the timer only wakes us.
  snapshot_records_ = node_->peers().size() + node_->remembered_count();
  auto next_periodic = TimerPoint(clock_.Now().mono + StateWriteInterval(snapshot_records_));
  while (!stopping_) {
    // At most StateWriteInterval(records of the last file) between writes: the next run's
    // unclean-stop margin is computed from the same figure.
    const auto due = write_state_soon_ ? std::min(next_periodic, state_timer_.expiry())
                                       : next_periodic;
    state_timer_.expires_at(due);
    co_await state_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    const auto now = TimerPoint(clock_.Now().mono);
    const bool periodic = now >= next_periodic;
    if (!periodic && !(write_state_soon_ && now >= state_timer_.expiry())) continue;
    write_state_soon_ = false;
    // Transitions during the (sliced) snapshot ask for the next write from now on: the
    // expiry that just passed must not make it immediate.
    state_timer_.expires_at(asio::steady_timer::time_point::max());
    co_await SaveStateInBackground();
    // The file just submitted promises the next within StateWriteInterval of its records.
    const auto promised = TimerPoint(clock_.Now().mono + StateWriteInterval(snapshot_records_));
    if (periodic) {
      FlushTraces();
      next_periodic = promised;
    } else {
      next_periodic = std::min(next_periodic, promised);
    }
  }
}

}  // namespace vigil
