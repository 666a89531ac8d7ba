#include "daemon/daemon.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "daemon/logging.h"

namespace vigil {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

udp::endpoint BindEndpoint(const Endpoint& e) {
  return udp::endpoint(asio::ip::make_address(e.host), e.port);
}

}  // namespace

Daemon::Daemon(Config config, std::string config_path, const Clock& clock)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      clock_(clock),
      started_(clock.Now()),
      deadline_timer_(io_),
      send_timer_(io_),
      watchdog_timer_(io_),
      resolve_timer_(io_),
      state_timer_(io_),
      tick_timer_(io_),
      health_(LocalHealthOptions{}),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      reject_log_(std::chrono::seconds(10), 1024),
      rng_(std::random_device{}()) {
  // The incarnation is the start time in microseconds: a restart always raises it (unless
  // the wall clock went back by more than the downtime; issue 4's state file closes that).
  incarnation_ = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(started_.wall.time_since_epoch())
          .count());
  self_.id = config_.node_id;
  self_.version = kVersion;
  self_.incarnation = incarnation_;
  self_.started = started_;
  self_.socket = config_.api_socket;
  health_.set_options(HealthOptions());
  node_ = std::make_unique<Node>(config_, started_);
  node_->set_event_listener([this](const EventRecord& e) { OnEvent(e); });
  recorder_ = std::make_unique<TraceRecorder>(config_.state_directory + "/traces");
  ConfigureRecording();
  LoadState();
  self_.incarnation = incarnation_;
}

LocalHealthOptions Daemon::HealthOptions() const {
  LocalHealthOptions o;
  // Listen long enough for every live peer to be heard at least twice.
  o.listen_window = std::max<Duration>(std::chrono::seconds(1), 3 * config_.heartbeat_interval);
  return o;
}

void Daemon::CheckLocalHealth(Timestamp now) {
  if (health_.Observe(now.mono, clock_.BootOffset())) {
    node_->NoteObservationGap();
    spdlog::warn("local {}: this daemon could not observe its peers for {} ms ({}); convicting "
                 "no peer on silence until it has listened for {} ms",
                 StallCauseName(health_.cause()),
                 static_cast<std::int64_t>(ToMillis(health_.last_gap())),
                 health_.cause() == StallCause::kSuspend
                     ? "the machine was suspended"
                     : "the process was stopped, starved of CPU, or its loop was blocked",
                 static_cast<std::int64_t>(MillisBetween(now.mono, health_.hold_until())));
    reported_degraded_ = true;
    health_note_ = "degraded: was not observing, convictions held";
    UpdateStatus();
  } else if (reported_degraded_ && !health_.Degraded(now.mono)) {
    reported_degraded_ = false;
    spdlog::info("local health restored: judging peers again");
    health_note_.clear();
    UpdateStatus();
  }
}

asio::awaitable<void> Daemon::TickLoop() {
  // Keeps the guard's notion of "the loop ran" fresh, so a stall is measured from its start.
  while (!stopping_) {
    tick_timer_.expires_after(std::chrono::milliseconds(50));
    co_await tick_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    CheckLocalHealth(clock_.Now());
  }
}

void Daemon::LoadState() {
  node_->set_own_incarnation(incarnation_);
  std::error_code ec;
  std::filesystem::create_directories(config_.state_directory, ec);
  if (ec) {
    spdlog::error("cannot create state directory {}: {}; \"last seen\" will not survive a "
                  "restart",
                  config_.state_directory, ec.message());
    return;
  }
  PersistedState state;
  std::string why;
  switch (ReadStateFile(config_.state_directory, config_.node_id, &state, &why)) {
    case StateLoad::kMissing:
      spdlog::info("no state file in {}: starting fresh", config_.state_directory);
      return;
    case StateLoad::kBad: {
      const std::string moved = QuarantineStateFile(config_.state_directory, started_.wall);
      spdlog::error("ignoring the state file: {}; {}", why,
                    moved.empty() ? "could not move it aside" : "moved it to " + moved);
      return;
    }
    case StateLoad::kOk:
      break;
  }
  // Never reuse an incarnation, even if the wall clock went back since the last run.
  incarnation_ = std::max(incarnation_, state.incarnation + 1);
  node_->set_own_incarnation(incarnation_);
  node_->Restore(state, started_);
  spdlog::info("state file: restored what the previous run (incarnation {}, {}) knew of {} "
               "peers; their states stand until they are heard or their allowance passes",
               state.incarnation, state.clean_stop ? "stopped cleanly" : "not stopped cleanly",
               state.peers.size());
}

void Daemon::SaveState(bool clean_stop) {
  const auto error =
      WriteStateFile(config_.state_directory, node_->Snapshot(clock_.Now(), clean_stop));
  if (!error) {
    ++counters_.state_writes;
    return;
  }
  ++counters_.state_write_errors;
  std::uint64_t suppressed = 0;
  if (reject_log_.Allow("state-file", clock_.Now().mono, &suppressed)) {
    spdlog::error("state file: {}", *error);
  }
}

asio::awaitable<void> Daemon::StateLoop() {
  while (!stopping_) {
    state_timer_.expires_after(std::chrono::seconds(5));
    co_await state_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    SaveState(false);
    FlushTraces();
  }
}

void Daemon::ConfigureRecording() {
  recorder_->Configure(config_.recording, config_.peers);
  std::size_t recorded = 0;
  for (const auto& p : config_.peers) recorded += recorder_->Recording(p.id) ? 1 : 0;
  counters_.traced_peers = recorded;
  if (recorded == 0) {
    // No listener at all: the receive path stays exactly as cheap as without recording.
    node_->set_arrival_listener(nullptr);
    return;
  }
  spdlog::info("recording heartbeat arrivals of {} peer(s) to {}", recorded,
               recorder_->directory());
  node_->set_arrival_listener([this](PeerIndex index, std::uint64_t incarnation,
                                     std::uint64_t sequence, Timestamp at) {
    recorder_->OnArrival(node_->peers()[index].id, incarnation, sequence, at.mono);
    counters_.trace_rows = recorder_->counters().rows;
    counters_.trace_errors = recorder_->counters().errors;
  });
}

void Daemon::FlushTraces() {
  recorder_->Flush();
  counters_.trace_errors = recorder_->counters().errors;
}

Daemon::~Daemon() = default;

bool Daemon::LoadKeyring(const Config& config, std::optional<Keyring>* out, std::string* why) {
  out->reset();
  if (!config.keyring) return true;
  auto ring = Keyring::Load(*config.keyring, why);
  if (!ring) return false;
  *out = std::move(ring);
  return true;
}

int Daemon::Run() {
  std::string error;
  if (!InitCrypto() || !LoadKeyring(config_, &keyring_, &error)) {
    spdlog::critical("{}", error.empty() ? "libsodium failed to initialize" : error);
    return 1;
  }
  node_->SetAuthentication(keyring_, config_.require_auth, config_.require_echo);
  if (keyring_) {
    spdlog::info("heartbeats are signed with key id {} of {} in {}; unauthenticated datagrams "
                 "are {}; echoes of our incarnation are {}",
                 keyring_->primary().id, keyring_->keys().size(), *config_.keyring,
                 config_.require_auth ? "rejected" : "accepted (security.require_auth: false)",
                 config_.require_echo ? "required" : "not required (security.require_echo: false)");
  }
  udp_ = UdpEndpoint::Open(io_, BindEndpoint(config_.bind), &error);
  if (!udp_) {
    spdlog::critical("{}", error);
    return 1;
  }
  const auto local = udp_->local_endpoint();
  self_.bind = fmt::format("{}:{}", local.address().to_string(), local.port());

  ApiServerOptions api_options;
  api_options.path = config_.api_socket;
  api_options.mode = config_.api_socket_mode;
  api_options.max_connections = config_.api_max_connections;
  api_options.idle_timeout = config_.api_idle_timeout;
  api_options.sse_buffer_bytes = config_.api_sse_buffer_bytes;
  api_options.allow_uids = config_.api_allow_uids;
  api_options.allow_gids = config_.api_allow_gids;
  api_ = ApiServer::Open(
      io_, api_options,
      [this](std::string_view m, std::string_view t, std::optional<std::string_view> id) {
        return Route(m, t, id);
      },
      node_->events(), counters_, [](const std::string& line) { spdlog::warn("{}", line); },
      &error);
  if (!api_) {
    spdlog::critical("{}", error);
    udp_->Close();
    return 1;
  }

  ResolveLiteralPeers();
  api_->Start();
  asio::co_spawn(io_, udp_->ReceiveLoop(
                          [this](std::span<const ReceivedDatagram> b) { OnBatch(b); },
                          [this](const std::error_code& ec) {
                            ++counters_.receive_errors;
                            spdlog::warn("UDP receive error: {}", ec.message());
                          }),
                 asio::detached);
  asio::co_spawn(io_, SendLoop(), asio::detached);
  asio::co_spawn(io_, DeadlineLoop(), asio::detached);
  asio::co_spawn(io_, SignalLoop(), asio::detached);
  asio::co_spawn(io_, StateLoop(), asio::detached);
  CheckLocalHealth(clock_.Now());
  asio::co_spawn(io_, TickLoop(), asio::detached);
  StartResolving();
  if (const auto ping = SystemdNotifier::WatchdogPingInterval()) {
    asio::co_spawn(io_, WatchdogLoop(*ping), asio::detached);
  }

  spdlog::info("vigild {} node {} incarnation {}: heartbeats on udp {}, API on {}, {} peers",
               kVersion, config_.node_id, incarnation_, self_.bind, config_.api_socket,
               node_->peers().size());
  UpdateStatus();
  notifier_.Ready();  // both sockets are bound
  io_.run();
  spdlog::info("vigild stopped");
  return 0;
}

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
  while (!stopping_) {
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

asio::awaitable<void> Daemon::DeadlineLoop() {
  while (!stopping_) {
    const MonoTime wake = node_->NextWakeup();
    deadline_timer_.expires_at(wake == kNever ? asio::steady_timer::time_point::max()
                                              : asio::steady_timer::time_point(wake.time_since_epoch()));
    co_await deadline_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    // Cancelled means an earlier deadline appeared: loop to re-arm. Either way run what is
    // due, unless this daemon was itself not listening a moment ago.
    const Timestamp now = clock_.Now();
    CheckLocalHealth(now);
    node_->RunDue(now, health_.hold_until());
  }
}

namespace {

// Compares the datagram's source address (not port: a peer may send from another port
// behind NAT) with the peer's resolved address.
class AddressMatcher final : public SourceMatcher {
 public:
  AddressMatcher(const udp::endpoint& from,
                 const std::vector<std::optional<udp::endpoint>>& targets)
      : from_(from), targets_(targets) {}
  bool Matches(PeerIndex peer) const override {
    if (peer >= targets_.size() || !targets_[peer]) return true;  // unresolved: cannot tell
    auto a = from_.address();
    auto b = targets_[peer]->address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    if (b.is_v6() && b.to_v6().is_v4_mapped()) b = asio::ip::make_address_v4(asio::ip::v4_mapped, b.to_v6());
    return a == b;
  }

 private:
  const udp::endpoint& from_;
  const std::vector<std::optional<udp::endpoint>>& targets_;
};

}  // namespace

void Daemon::OnBatch(std::span<const ReceivedDatagram> batch) {
  const Timestamp now = clock_.Now();
  CheckLocalHealth(now);
  counters_.receive_buffer_drops = udp_->kernel_drops();
  for (const auto& d : batch) {
    // Every datagram is decoded and judged on its own: no per-address limit, which a flood
    // from a peer's own (or a shared NAT) address would turn against the peer.
    const AddressMatcher matcher(d.from, targets_);
    const auto rejected = node_->OnDatagram(d.data, d.truncated, now,
                                            config_.check_source_address ? &matcher : nullptr);
    if (rejected) LogReject(d, *rejected, now.mono);
  }
  // A heartbeat may have brought a deadline earlier than the one the timer waits for.
  const MonoTime wake = node_->NextWakeup();
  if (wake != kNever && asio::steady_timer::time_point(wake.time_since_epoch()) < deadline_timer_.expiry()) {
    deadline_timer_.cancel();
  }
}

void Daemon::LogReject(const ReceivedDatagram& d, RejectReason reason, MonoTime now) {
  // Keyed by the raw address bytes: no allocation for a source already tracked, so a
  // flood costs a hash lookup per datagram.
  const auto addr = d.from.address();
  const auto v6 = addr.is_v6() ? addr.to_v6()
                               : asio::ip::make_address_v6(asio::ip::v4_mapped, addr.to_v4());
  const auto bytes = v6.to_bytes();
  const std::string_view key(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::uint64_t suppressed = 0;
  if (!reject_log_.Allow(key, now, &suppressed)) return;
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
  spdlog::warn("rejected datagram from {}:{}: {} ({} bytes{}){}", addr.to_string(), d.from.port(),
               RejectReasonName(reason), d.data.size(), detail,
               suppressed ? fmt::format("; {} more from this address suppressed", suppressed) : "");
}

void Daemon::OnEvent(const EventRecord& e) {
  spdlog::info("peer {} {} -> {} ({}, phi {:.2f}, incarnation {})", e.peer, PeerStateName(e.from),
               PeerStateName(e.to), TransitionReasonName(e.reason), e.level, e.incarnation);
  if (api_) api_->Broadcast(e);
  UpdateStatus();
}

void Daemon::UpdateStatus() {
  const auto counts = node_->CountByState();
  std::string status = fmt::format("{} peers:", node_->peers().size());
  bool first = true;
  for (auto s : {PeerState::kUp, PeerState::kSuspect, PeerState::kDown, PeerState::kLeft,
                 PeerState::kUnknown}) {
    const auto n = counts[static_cast<std::size_t>(s)];
    if (n == 0) continue;
    status += fmt::format("{} {} {}", first ? "" : ",", n, PeerStateName(s));
    first = false;
  }
  if (!health_note_.empty()) status += "; " + health_note_;
  if (!status_note_.empty()) status += "; " + status_note_;
  notifier_.Status(status);
}

asio::awaitable<void> Daemon::WatchdogLoop(Duration interval) {
  // Pinged from the event loop itself: if the loop is stuck, the pings stop and systemd
  // restarts us.
  while (!stopping_) {
    notifier_.Watchdog();
    watchdog_timer_.expires_after(interval);
    co_await watchdog_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> Daemon::SignalLoop() {
  while (!stopping_) {
    auto [ec, signo] = co_await signals_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (signo == SIGHUP) {
      Reload();
      continue;
    }
    spdlog::info("signal {}: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    Stop();
  }
}

void Daemon::Reload() {
  notifier_.Reloading();
  spdlog::info("SIGHUP: reloading {}", config_path_);
  ConfigResult r = LoadConfigFile(config_path_);
  if (r.ok() && r.config->node_id != config_.node_id) {
    r.errors.push_back({config_path_, 0, 0, "node.id",
                        fmt::format("cannot change from '{}' to '{}' on reload; restart vigild",
                                    config_.node_id, r.config->node_id)});
    r.config.reset();
  }
  if (!r.ok()) {
    for (const auto& e : r.errors) spdlog::error("reload: {}", e.ToString());
    spdlog::error("reload failed with {} error(s); still running the previous configuration",
                  r.errors.size());
    ++counters_.reloads_failed;
    counters_.last_reload_ok = false;
    status_note_ = fmt::format("reload failed ({}), running the previous configuration",
                               r.errors.front().ToString());
    UpdateStatus();
    notifier_.Ready();
    return;
  }
  Config next = std::move(*r.config);
  std::optional<Keyring> next_keyring;
  std::string key_error;
  if (!LoadKeyring(next, &next_keyring, &key_error)) {
    spdlog::error("reload: {}", key_error);
    spdlog::error("reload failed; still running the previous configuration and keys");
    ++counters_.reloads_failed;
    counters_.last_reload_ok = false;
    status_note_ = "reload failed (" + key_error + "), running the previous configuration";
    UpdateStatus();
    notifier_.Ready();
    return;
  }
  // What lives in bound sockets and open files changes only with a restart.
  auto keep = [&](auto& field, const auto& old, const char* key) {
    if (!(field == old)) {
      spdlog::warn("reload: {} changed; it takes effect when vigild restarts", key);
      field = old;
    }
  };
  keep(next.bind, config_.bind, "node.bind");
  keep(next.api_socket, config_.api_socket, "api.socket");
  keep(next.api_socket_mode, config_.api_socket_mode, "api.mode");
  keep(next.state_directory, config_.state_directory, "state.directory");
  keep(next.metrics_listen, config_.metrics_listen, "metrics.listen");

  const ReconfigureSummary summary = node_->Reconfigure(next, clock_.Now());
  keyring_ = std::move(next_keyring);
  node_->SetAuthentication(keyring_, next.require_auth, next.require_echo);
  if (keyring_) {
    spdlog::info("reload: signing with key id {}; {} key(s) accepted; require_auth {}",
                 keyring_->primary().id, keyring_->keys().size(), next.require_auth);
  }
  if (next.log_level != config_.log_level) SetLogLevel(next.log_level);
  api_->set_limits(next.api_max_connections, next.api_idle_timeout, next.api_sse_buffer_bytes,
                   next.api_allow_uids, next.api_allow_gids);
  config_ = std::move(next);
  ConfigureRecording();
  health_.set_options(HealthOptions());
  ResolveLiteralPeers();
  StartResolving();
  deadline_timer_.cancel();  // deadlines were rebuilt: re-arm
  auto list = [](const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, ", ")); };
  spdlog::info("reload: {} peers; added [{}], removed [{}], retuned [{}], relearning [{}], "
               "moved [{}]",
               node_->peers().size(), list(summary.added), list(summary.removed),
               list(summary.retuned), list(summary.replaced), list(summary.moved));
  ++counters_.reloads_ok;
  counters_.last_reload_ok = true;
  status_note_.clear();
  UpdateStatus();
  notifier_.Ready();
}

void Daemon::Stop() {
  if (stopping_) return;
  notifier_.Stopping();
  // Tell every peer we are leaving, twice in case one copy is lost (the second is ignored).
  SendToAll(MessageType::kLeave);
  SendToAll(MessageType::kLeave);
  stopping_ = true;
  SaveState(true);
  FlushTraces();
  boost::system::error_code ec;
  signals_.cancel(ec);
  state_timer_.cancel();
  tick_timer_.cancel();
  deadline_timer_.cancel();
  send_timer_.cancel();
  watchdog_timer_.cancel();
  resolve_timer_.cancel();
  udp_->Close();
  api_->Stop();
}

ApiResponse Daemon::Route(std::string_view method, std::string_view target,
                          std::optional<std::string_view> last_event_id) {
  const ApiContext ctx{*node_, counters_, self_, clock_.Now(), &health_};
  return vigil::Route(method, target, last_event_id, ctx);
}

}  // namespace vigil
