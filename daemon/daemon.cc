#include "daemon/daemon.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "config/reload_plan.h"
#include "daemon/logging.h"

namespace vigil {

namespace asio = boost::asio;
using asio::ip::udp;

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
      cluster_timer_(io_),
      seed_timer_(io_),
      health_(LocalHealthOptions{}),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      reject_log_(std::chrono::seconds(10), 1024),
      unconfirmed_log_(std::chrono::seconds(10), 1024),
      rng_(std::random_device{}()) {
  // The incarnation is the start time in microseconds: a restart always raises it (unless
  // the wall clock went back by more than the downtime; issue 4's state file closes that).
  incarnation_ = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(started_.wall.time_since_epoch())
          .count());
  self_.id = config_.node.id;
  self_.version = kVersion;
  self_.incarnation = incarnation_;
  composer_.emplace(config_.node.id, config_.heartbeat.interval, incarnation_);
  self_.started = started_;
  self_.socket = config_.api.socket;
  health_.set_options(HealthOptions());
  node_ = std::make_unique<Node>(config_, started_);
  node_->set_event_listener([this](const EventRecord& e) { OnEvent(e); });
  recorder_ = std::make_unique<TraceRecorder>(config_.state.directory + "/traces");
  ConfigureRecording();
}

LocalHealthOptions Daemon::HealthOptions() const {
  // A member keeps the interval it started with (a reload does not change it).
  return LocalHealthOptionsFor(cluster_ ? cluster_->interval() : config_.heartbeat.interval);
}

void Daemon::CheckLocalHealth(Timestamp now) {
  if (health_.Observe(now.mono, clock_.BootOffset())) {
    node_->NoteObservationGap();
    if (cluster_) cluster_->Abstain(health_.hold_until());
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

void Daemon::ObserveKernelDrops(MonoTime now) {
  if (cluster_->ObserveKernelDrops(now, counters_.receive_buffer_drops) !=
      ReceiveOverflow::Change::kNone) {
    UpdateStatus();
  }
}

asio::awaitable<void> Daemon::TickLoop() {
  // Keeps the guard's notion of "the loop ran" fresh, so a stall is measured from its start.
  while (!stopping_) {
    tick_timer_.expires_after(std::chrono::milliseconds(50));
    co_await tick_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    const Timestamp now = clock_.Now();
    counters_.loop_lag.Record(TimerPoint(now.mono) - tick_timer_.expiry());
    CheckLocalHealth(now);
    // Ends an overflow episode on time when no datagram comes (the count is read on receive).
    if (cluster_) ObserveKernelDrops(now.mono);
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

Result<std::optional<Keyring>> Daemon::LoadKeyring(const Config& config) {
  if (!config.security.keyring) return std::optional<Keyring>();
  auto ring = Keyring::Load(*config.security.keyring);
  if (!ring) return ring.status();
  return std::optional<Keyring>(std::move(ring).value());
}

int Daemon::Run() {
  if (const Status locked = LockStateDirectory(); !locked.ok()) {
    spdlog::critical("{}", locked.message());
    return 1;
  }
  if (!InitCrypto()) {
    spdlog::critical("libsodium failed to initialize");
    return 1;
  }
  auto ring = LoadKeyring(config_);
  if (!ring) {
    spdlog::critical("{}", ring.message());
    return 1;
  }
  keyring_ = std::move(ring).value();
  // Before the state is restored: what a restored peer must prove depends on it.
  node_->SetAuthentication(keyring_, config_.security.require_auth, config_.security.require_echo);
  LoadState();
  self_.incarnation = incarnation_;
  composer_->set_incarnation(incarnation_);
  composer_->set_keyring(keyring_);
  if (keyring_) {
    spdlog::info("heartbeats are signed with key id {} of {} in {}; unauthenticated datagrams "
                 "are {}; echoes of our incarnation are {}",
                 keyring_->primary().id, keyring_->keys().size(), *config_.security.keyring,
                 config_.security.require_auth ? "rejected" : "accepted (security.require_auth: false)",
                 config_.security.require_echo ? "required" : "not required (security.require_echo: false)");
  }
  if (const Status opened = OpenSockets(); !opened.ok()) {
    spdlog::critical("{}", opened.message());
    return 1;
  }
  StartLoops();
  spdlog::info("vigild {} node {} incarnation {}: heartbeats on udp {}, API on {}, {} peers",
               kVersion, config_.node.id, incarnation_, self_.bind, config_.api.socket,
               node_->peers().size());
  UpdateStatus();
  notifier_.Ready();  // both sockets are bound
  io_.run();
  spdlog::info(exit_code_ == 0 ? "vigild stopped" : "vigild stopped after a failure");
  return exit_code_;
}

void Daemon::StartLoops() {
  ResolveLiteralPeers();
  api_->Start(Supervise("API accept"));
  if (metrics_) {
    metrics_->Start(Supervise("metrics accept"));
    const auto ep = metrics_->local_endpoint();
    spdlog::info("serving /metrics and /v1/health over HTTP on {}:{} (metrics.listen)",
                 ep.address().to_string(), ep.port());
  }
  receiving_ = true;
  asio::co_spawn(io_, udp_->ReceiveLoop(
                          [this](std::span<const ReceivedDatagram> b) { OnBatch(b); },
                          [this](const std::error_code& ec) {
                            ++counters_.receive_errors;
                            spdlog::warn("UDP receive error: {}", ec.message());
                          }),
                 Supervise("receive"));
  asio::co_spawn(io_, SendLoop(), Supervise("send"));
  asio::co_spawn(io_, DeadlineLoop(), Supervise("deadline"));
  asio::co_spawn(io_, SignalLoop(), Supervise("signal"));
  asio::co_spawn(io_, StateLoop(), Supervise("state"));
  CheckLocalHealth(clock_.Now());
  asio::co_spawn(io_, TickLoop(), Supervise("tick"));
  StartCluster();
  StartResolving();
  send_progress_ = deadline_progress_ = clock_.Now().mono;
  if (const auto ping = SystemdNotifier::WatchdogPingInterval()) {
    asio::co_spawn(io_, WatchdogLoop(*ping), Supervise("watchdog"));
  }
}

void Daemon::OnEvent(const EventRecord& e) {
  if (!e.member) {  // a member's change is logged by ClusterMember
    spdlog::info("peer {} {} -> {} ({}, phi {:.2f}, incarnation {})", e.peer,
                 PeerStateName(e.from), PeerStateName(e.to), TransitionReasonName(e.reason),
                 e.level, e.incarnation);
  }
  if (api_) api_->Broadcast(e);
  WriteStateSoon();
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
  if (cluster_) {
    status_members_ = cluster_->member().view().size();
    status += fmt::format("; cluster: {} members", status_members_);
    const ReceiveOverflow& overflow = cluster_->overflow();
    const MonoTime now = clock_.Now().mono;
    if (overflow.Overflowing(now)) {
      status += overflow.Holding(now) ? "; receive buffer overflowing: reporting no member"
                                      : "; receive buffer overflowing too long: reporting anyway";
    }
  }
  if (!health_note_.empty()) status += "; " + health_note_;
  if (!overload_note_.empty()) status += "; " + overload_note_;
  if (!status_note_.empty()) status += "; " + status_note_;
  notifier_.Status(status);
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
  notifier_.Reloading(clock_.Now().mono);
  spdlog::info("SIGHUP: reloading {}", config_path_);
  ConfigResult r = LoadConfigFile(config_path_);
  std::optional<ReloadPlan> plan;
  if (r.ok()) {
    plan = PlanReload(config_, std::move(*r.config));
    if (plan->refusal) r.errors.push_back(*plan->refusal);
  }
  if (!r.ok()) {
    std::vector<std::string> errors;
    for (const auto& e : r.errors) errors.push_back(e.ToString());
    RejectReload(errors, errors.front());
    return;
  }
  Config next = std::move(plan->config);
  if (const auto problem = ClusterReloadProblem(next)) {
    RejectReload({*problem}, *problem);
    return;
  }
  auto next_keyring = LoadKeyring(next);
  if (!next_keyring) {
    RejectReload({next_keyring.message()}, next_keyring.message());
    return;
  }
  for (const auto key : plan->at_restart) {
    spdlog::warn("reload: {} changed; it takes effect when vigild restarts", key);
  }
  if (plan->interval_changed) RestartSendSchedule();
  const ReconfigureSummary summary = node_->Reconfigure(next, clock_.Now());
  keyring_ = std::move(next_keyring).value();
  node_->SetAuthentication(keyring_, next.security.require_auth, next.security.require_echo);
  composer_->set_keyring(keyring_);
  composer_->set_interval(next.heartbeat.interval);
  ReloadCluster(next);
  if (keyring_) {
    spdlog::info("reload: signing with key id {}; {} key(s) accepted; require_auth {}",
                 keyring_->primary().id, keyring_->keys().size(), next.security.require_auth);
  }
  if (plan->log_level_changed) SetLogLevel(next.log.level);
  api_->set_limits(next.api);
  udp_->set_coalesce_window(next.node.receive_coalesce);
  config_ = std::move(next);
  ConfigureRecording();
  health_.set_options(HealthOptions());
  ResolveLiteralPeers();
  StartResolving(/*refresh_names=*/true);
  deadline_timer_.cancel();  // deadlines were rebuilt: re-arm
  auto list = [](const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, ", ")); };
  spdlog::info("reload: {} peers; added [{}], removed [{}], retuned [{}], relearning [{}], "
               "moved [{}]",
               node_->peers().size(), list(summary.added), list(summary.removed),
               list(summary.retuned), list(summary.replaced), list(summary.moved));
  enrollment_full_logged_ = false;  // the cap may have changed
  ++counters_.reloads_ok;
  counters_.last_reload_ok = true;
  status_note_.clear();
  UpdateStatus();
  notifier_.Ready();
}

void Daemon::RejectReload(const std::vector<std::string>& errors, const std::string& note) {
  for (const auto& e : errors) spdlog::error("reload: {}", e);
  spdlog::error("reload failed with {} error(s); still running the previous configuration "
                "and keys",
                errors.size());
  ++counters_.reloads_failed;
  counters_.last_reload_ok = false;
  status_note_ = fmt::format("reload failed ({}), running the previous configuration", note);
  UpdateStatus();
  notifier_.Ready();
}

void Daemon::Stop() {
  if (stopping_) return;
  notifier_.Stopping();
  // Tell every peer we are leaving, twice in case one copy is lost (the second is ignored).
  SendToAll(MessageType::kLeave);
  SendToAll(MessageType::kLeave);
  LeaveCluster();
  stopping_ = true;
  SaveState(true);
  CloseEverything();
}

void Daemon::CloseEverything() {
  stopping_ = true;
  FlushTraces();
  boost::system::error_code ec;
  signals_.cancel(ec);
  state_timer_.cancel();
  tick_timer_.cancel();
  cluster_timer_.cancel();
  seed_timer_.cancel();
  deadline_timer_.cancel();
  send_timer_.cancel();
  watchdog_timer_.cancel();
  resolve_timer_.cancel();
  udp_->Close();
  api_->Stop();
  if (metrics_) metrics_->Stop();
}

ApiResponse Daemon::Route(std::string_view method, std::string_view target,
                          std::optional<std::string_view> last_event_id) {
  return vigil::Route(method, target, last_event_id, MakeApiContext());
}

}  // namespace vigil
