// vigild: wires the UDP endpoint, the Node, the API server, timers, signals and systemd.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/api_server.h"
#include "daemon/heartbeat_composer.h"
#include "daemon/clock.h"
#include "daemon/cluster_member.h"
#include "daemon/local_health.h"
#include "daemon/metrics.h"
#include "daemon/metrics_listener.h"
#include "daemon/node.h"
#include "daemon/peer_addresses.h"
#include "daemon/trace_recorder.h"
#include "daemon/rate_limiter.h"
#include "daemon/send_schedule.h"
#include "daemon/state_lock.h"
#include "daemon/state_writer.h"
#include "daemon/systemd_notify.h"
#include "transport/udp_endpoint.h"

namespace vigil {

// The release (the top-level CMake project's version), given to the files that print it.
#ifdef VIGIL_VERSION
inline constexpr const char* kVersion = VIGIL_VERSION;
#endif

// One daemon: one io_context, one thread, no locks. Run() returns when a SIGTERM or
// SIGINT has been handled (leave messages sent, sockets closed, socket file removed).
class Daemon {
 public:
  // Loads the keyring a config names: nullopt when it names none; an error if it cannot be
  // read or is not a valid keyring (Keyring::Load).
  static Result<std::optional<Keyring>> LoadKeyring(const Config& config);

  // Requires a validated config. `config_path` is re-read on SIGHUP.
  Daemon(Config config, std::string config_path, const Clock& clock);
  ~Daemon();

  // Locks the state directory, binds the sockets, tells systemd READY=1, and serves until
  // asked to stop. Returns the process exit code: 0 after a clean stop; 1 if the state
  // directory, keyring or sockets could not be set up, or if one of the event loops failed
  // (logged as critical: systemd restarts the daemon).
  int Run();

 private:
  // The Asio timers only wake the loops: every time they act on comes from clock_, and a
  // wake-up time is converted here (MonoTime shares steady_clock's epoch).
  static boost::asio::steady_timer::time_point TimerPoint(MonoTime t) {
    return boost::asio::steady_timer::time_point(
        std::chrono::duration_cast<boost::asio::steady_timer::duration>(t.time_since_epoch()));
  }
  boost::asio::awaitable<void> SendLoop();
  boost::asio::awaitable<void> DeadlineLoop();
  boost::asio::awaitable<void> SignalLoop();
  boost::asio::awaitable<void> WatchdogLoop(Duration interval);
  boost::asio::awaitable<void> ResolveLoop();
  // Resolves peer `id`'s host name `a` once into addresses_ (unless a reload moved or
  // removed the peer meanwhile); a failure is warned once per peer, in `warned`.
  boost::asio::awaitable<void> ResolveOne(boost::asio::ip::udp::resolver& resolver,
                                          const std::string& id, const Endpoint& a,
                                          std::set<std::string>& warned);
  boost::asio::awaitable<void> StateLoop();
  boost::asio::awaitable<void> TickLoop();
  // daemon_cluster.cc: with cluster.seeds, makes the member and starts its loop.
  void StartCluster();
  boost::asio::awaitable<void> ClusterLoop();
  // Resolves the seeds given as host names, again every 30 s (every 5 s while one has no
  // address); daemon_cluster.cc.
  boost::asio::awaitable<void> SeedResolveLoop();
  boost::asio::awaitable<void> ResolveSeed(boost::asio::ip::udp::resolver& resolver,
                                           const std::string& id, const Endpoint& seed,
                                           std::set<std::string>& warned);
  // A stop: the member tells its neighbours it leaves (membership.md, "Leaving").
  void LeaveCluster();
  // Hands `d` to the cluster member if it is a membership datagram or a heartbeat from a
  // sender that is not a peer (true), else leaves it to the Node (false).
  bool ToCluster(const ReceivedDatagram& d, MonoTime now);
  // A cluster datagram rejected for `reason`: logged as the peers' rejects are (rate-limited
  // per source host).
  void LogClusterReject(const ReceivedDatagram& d, std::string_view reason, MonoTime now);
  ApiContext MakeApiContext();
  // Why `next` cannot be applied to the running cluster member (a reload), if it cannot.
  std::optional<std::string> ClusterReloadProblem(const Config& next) const;
  // A reload applied: the member takes the new keyring; what it cannot change is logged.
  void ReloadCluster(const Config& next);

  // Binds the UDP socket and opens the API socket (and the metrics listener).
  Status OpenSockets();
  void StartLoops();
  void OnBatch(std::span<const ReceivedDatagram> batch);
  void LogReject(const ReceivedDatagram& d, RejectReason reason, MonoTime now);
  // Whether a rejected datagram from d's host may be logged now (one line per host per
  // 10 s, for the peers' rejects and the cluster's alike); *suppressed: lines held back.
  bool AllowRejectLog(const ReceivedDatagram& d, MonoTime now, std::uint64_t* suppressed);
  void OnEvent(const EventRecord& event);
  // Signs and sends `m` to peers [begin, end) (at most kSendSliceSize; clamped to the
  // current table) in one batch. Returns nullopt when done or, with `wait_when_full`, the
  // first peer not sent because the socket's send buffer is full (the caller waits until it
  // is writable and resumes there); any other refused datagram is counted and logged, and
  // the others go on. Adds what the kernel took to round_sent_.
  std::optional<std::size_t> SendSlice(const RoundMessage& m, std::size_t begin,
                                       std::size_t end, bool wait_when_full);
  void LogSendError(const boost::asio::ip::udp::endpoint& to, const std::error_code& ec);
  // One round of heartbeats in slices spread over the interval, starting at `start`.
  boost::asio::awaitable<void> SendRound(MonoTime start);
  // Waits until `t` on the send timer; if `t` has passed, yields to ready handlers.
  boost::asio::awaitable<void> PauseUntil(MonoTime t);
  // Overload accounting, logs and STATUS= after a round that began at `start`.
  void NoteRoundDone(MonoTime start, MonoTime finished);
  // Sends `type` to every peer at once, without yielding (the leaves of a stop), waiting for
  // room in the send buffer for at most a couple of seconds in all.
  void SendToAll(MessageType type);
  // heartbeat.interval changed (a reload): the send loop starts a new schedule at once.
  void RestartSendSchedule();
  void UpdateStatus();
  void Reload();
  // A reload that cannot be applied: logged, counted, noted in STATUS=; nothing changes.
  void RejectReload(const std::vector<std::string>& errors, const std::string& note);
  void Stop();
  // Ends every loop and closes the sockets, so io_.run() returns. No leave, no clean state.
  void CloseEverything();
  // A loop failed: logged as critical, the state saved (as an unclean stop), exit code 1.
  void Fail(const char* loop, const std::string& what);
  void ResolveLiteralPeers();
  // Starts (or re-arms) the resolve loop; `refresh_names`: look up every host name again.
  void StartResolving(bool refresh_names = false);
  // Creates and locks state.directory: an error if it cannot (IOError) or another vigild
  // has it (Busy).
  Status LockStateDirectory();
  void LoadState();
  // Asks StateLoop for a write within kTransitionWriteDelay, or 10 µs per tracked peer if
  // that is longer (coalesced).
  void WriteStateSoon();
  // The completion handler of a spawned loop: a loop that throws, or returns while the
  // daemon is not stopping, is logged as critical and ends Run() with exit code 1.
  // `may_end`: the loop finishes its job and ends (name resolution); only a throw is a failure.
  std::function<void(std::exception_ptr)> Supervise(const char* loop, bool may_end = false);
  // True while the send and deadline loops are waiting on timers that are not overdue and
  // the receive loop still runs: only then is systemd's watchdog pinged.
  bool LoopsProgressing() const;
  // How long a detecting loop may go without progress before it counts as hung.
  Duration ProgressGrace() const;
  // Runs first in every event-loop handler: notices that the loop did not run for a while.
  void CheckLocalHealth(Timestamp now);
  // A cluster member's receive-overflow guard, fed the drops counted so far.
  void ObserveKernelDrops(MonoTime now);
  LocalHealthOptions HealthOptions() const;
  // Writes the state file now, on this thread, after stopping the writer thread: the
  // final write of a run (clean or after a loop failed).
  void SaveState(bool clean_stop);
  // Snapshots the Node in slices (between which the loop serves everything else) and hands
  // the snapshot to the writer thread.
  boost::asio::awaitable<void> SaveStateInBackground();
  // SaveStateInBackground's second part: the remembered peers in slices into `add`, then
  // the tracked peers enrolled meanwhile. False if the daemon began stopping meanwhile.
  boost::asio::awaitable<bool> SnapshotRemembered(const Node::PeerSink& add,
                                                  std::uint64_t generation, Duration& longest);
  // Runs `work` (one step of a snapshot, between two turns of the loop); keeps the longest.
  void TimedStep(Duration& longest, const std::function<void()>& work);
  void OnStateWritten(const Status& written);
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
  std::unique_ptr<MetricsListener> metrics_;  // only with metrics.listen
  boost::asio::steady_timer deadline_timer_;
  boost::asio::steady_timer send_timer_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer resolve_timer_;
  boost::asio::steady_timer state_timer_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer cluster_timer_;
  boost::asio::steady_timer seed_timer_;
  std::unique_ptr<ClusterMember> cluster_;  // with cluster.seeds
  std::size_t status_members_ = 0;          // the member count STATUS= last showed
  LocalHealth health_;
  bool reported_degraded_ = false;
  boost::asio::signal_set signals_;
  PeerAddresses addresses_;  // where each peer is, by id (daemon_resolve.cc)
  SendLoad send_load_;
  std::vector<std::array<std::uint8_t, kMaxMessageSize>> slice_buffers_;  // reused by SendSlice
  std::vector<OutgoingDatagram> outgoing_;                                // reused by SendSlice
  std::vector<std::size_t> slice_peers_;                                  // reused by SendSlice
  std::size_t round_sent_ = 0;       // datagrams the kernel took in the round in progress
  MonoTime send_progress_{};         // the send loop last did its work (watchdog)
  MonoTime deadline_progress_{};     // the deadline loop last ran (watchdog)
  // The peer deadline the deadline timer waits for (kNever: it waits for its 1 s beat). When
  // heartbeats move that deadline later, the timer is re-armed rather than left to wake
  // for nothing: with peers heartbeating in turn, a stale timer would wake once per heartbeat.
  MonoTime armed_deadline_ = kNever;
  MonoTime next_forget_{};           // when the deadline loop next forgets silent enrolled peers
  bool enrollment_full_logged_ = false;  // said once until room frees up or a reload
  std::uint64_t incarnation_ = 0;
  std::optional<HeartbeatComposer> composer_;  // made once the incarnation is known
  SystemdNotifier notifier_;
  LogRateLimiter reject_log_;
  LogRateLimiter unconfirmed_log_;  // the cluster's unconfirmed datagrams (debug lines)
  std::mt19937_64 rng_;
  std::optional<Keyring> keyring_;  // signs what we send, when configured
  bool stopping_ = false;
  int exit_code_ = 0;
  std::uint64_t batches_ = 0;  // datagram batches received (for a failpoint)
  bool receiving_ = false;          // the receive loop has not ended
  bool write_state_soon_ = false;   // a transition awaits its state-file write
  std::size_t snapshot_records_ = 0;  // peer records in the last state-file snapshot
  bool snapshot_walking_remembered_ = false;  // no remembered-table compaction meanwhile
  std::string state_buffer_;  // a written state file's buffer, to build the next one in
  bool reported_stall_ = false;
  MonoTime watchdog_woke_{};  // when WatchdogLoop last ran
  std::optional<StateDirectoryLock> state_lock_;
  std::unique_ptr<StateWriter> state_writer_;  // started with the first background write
  bool resolving_ = false;
  bool rescan_ = false;         // the table changed while ResolveLoop ran: pass again
  bool refresh_names_ = false;  // look up every host name again (a reload)
  std::string status_note_;  // appended to STATUS= (e.g. a failed reload)
  std::string health_note_;  // appended to STATUS= while the local-health guard holds
  std::string overload_note_;  // appended to STATUS= while heartbeat rounds run late
};

}  // namespace vigil
