// vigild: wires the UDP endpoint, the Node, the API server, timers, signals and systemd.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/api_server.h"
#include "daemon/clock.h"
#include "daemon/local_health.h"
#include "daemon/metrics.h"
#include "daemon/node.h"
#include "daemon/trace_recorder.h"
#include "daemon/rate_limiter.h"
#include "daemon/systemd_notify.h"
#include "transport/udp_endpoint.h"

namespace vigil {

inline constexpr const char* kVersion = "0.1.0";

// One daemon: one io_context, one thread, no locks. Run() returns when a SIGTERM or
// SIGINT has been handled (leave messages sent, sockets closed, socket file removed).
class Daemon {
 public:
  // Loads the keyring a config names (if any). On failure returns false with *why.
  static bool LoadKeyring(const Config& config, std::optional<Keyring>* out, std::string* why);

  // Requires a validated config. `config_path` is re-read on SIGHUP.
  Daemon(Config config, std::string config_path, const Clock& clock);
  ~Daemon();

  // Binds the sockets, tells systemd READY=1, and serves until asked to stop. Returns the
  // process exit code: 0 after a clean stop, 1 if the sockets could not be set up.
  int Run();

 private:
  boost::asio::awaitable<void> SendLoop();
  boost::asio::awaitable<void> DeadlineLoop();
  boost::asio::awaitable<void> SignalLoop();
  boost::asio::awaitable<void> WatchdogLoop(Duration interval);
  boost::asio::awaitable<void> ResolveLoop();
  boost::asio::awaitable<void> StateLoop();
  boost::asio::awaitable<void> TickLoop();

  void OnBatch(std::span<const ReceivedDatagram> batch);
  void LogReject(const ReceivedDatagram& d, RejectReason reason, MonoTime now);
  void OnEvent(const EventRecord& event);
  void SendToAll(MessageType type);
  void UpdateStatus();
  void Reload();
  void Stop();
  void ResolveLiteralPeers();
  void StartResolving();
  void LoadState();
  // Runs first in every event-loop handler: notices that the loop did not run for a while.
  void CheckLocalHealth(Timestamp now);
  LocalHealthOptions HealthOptions() const;
  void SaveState(bool clean_stop);
  // Applies config_.recording and the peers' `record` to the trace recorder.
  void ConfigureRecording();
  void FlushTraces();
  ApiResponse Route(std::string_view method, std::string_view target,
                    std::optional<std::string_view> last_event_id);

  // The io_context comes first so it is destroyed last; Run() finishes every coroutine
  // before returning, so none outlives the members below.
  boost::asio::io_context io_;
  Config config_;
  std::string config_path_;
  const Clock& clock_;
  Timestamp started_;
  SelfInfo self_;
  DaemonCounters counters_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<TraceRecorder> recorder_;
  std::unique_ptr<UdpEndpoint> udp_;
  std::unique_ptr<ApiServer> api_;
  boost::asio::steady_timer deadline_timer_;
  boost::asio::steady_timer send_timer_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer resolve_timer_;
  boost::asio::steady_timer state_timer_;
  boost::asio::steady_timer tick_timer_;
  LocalHealth health_;
  bool reported_degraded_ = false;
  boost::asio::signal_set signals_;
  std::vector<std::optional<boost::asio::ip::udp::endpoint>> targets_;  // per peer index
  std::uint64_t incarnation_ = 0;
  std::uint64_t sequence_ = 0;
  SystemdNotifier notifier_;
  LogRateLimiter reject_log_;
  std::mt19937_64 rng_;
  std::optional<Keyring> keyring_;  // signs what we send, when configured
  bool stopping_ = false;
  bool resolving_ = false;
  std::string status_note_;  // appended to STATUS= (e.g. a failed reload)
  std::string health_note_;  // appended to STATUS= while the local-health guard holds
};

}  // namespace vigil
