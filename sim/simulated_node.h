// One vigil node in a Simulation: the Node vigild runs (intake, detectors, deadlines,
// reload), the HeartbeatComposer it sends with and the round schedule it keeps
// (daemon/send_schedule.h), driven by simulated time and a SimulatedNetwork instead of
// Asio. Not simulated: what the daemon adds around these (sockets, the API, the state file,
// systemd), authentication (no keyring: a config with security.require_auth rejects every
// datagram), the local-health guard (deadlines are never held), and overload (a round
// leaves in no time).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "daemon/heartbeat_composer.h"
#include "daemon/node.h"
#include "sim/simulated_network.h"
#include "sim/simulation.h"

namespace vigil::sim {

// Not thread-safe. Must outlive the Simulation's queued actions (keep nodes alive until the
// simulation ends; a crashed node ignores what it had queued).
class SimulatedNode {
 public:
  // `address` is where this node receives ("host:port", as its peers' configs name it).
  // Requires a validated config.
  SimulatedNode(Simulation& sim, SimulatedNetwork& net, Config config, std::string address);

  // Starts (or, after Crash, restarts with a new incarnation and a fresh Node: nothing
  // survives, as with a lost state file): receives from now on, sends its first round now.
  void Start();
  // Stops at once: no leave, nothing more sent or received (kill -9, power loss).
  void Crash();
  // A clean stop: a leave to every peer, twice, as vigild sends on SIGTERM; then as Crash.
  void Stop();
  // Applies a new configuration as SIGHUP does. On failure returns the errors and changes
  // nothing (node.id cannot change on reload).
  std::vector<ConfigError> Reload(const std::string& yaml);

  bool running() const { return running_; }
  const Node& node() const { return *node_; }
  const Config& config() const { return config_; }
  const std::string& address() const { return address_; }
  // PeerState::kUnknown also for a peer not configured.
  PeerState StateOf(std::string_view peer) const;
  // Every transition since the first Start, across restarts, in order.
  const std::vector<EventRecord>& events() const { return events_; }

 private:
  // Round of the schedule `schedule` (stale once a reload of the interval or a crash bumped
  // schedule_): its slices, then the next round queued.
  void SendRound(MonoTime slot_start, std::uint64_t schedule);
  void SendSlice(const RoundMessage& m, std::size_t slice);
  void Receive(std::span<const std::uint8_t> datagram, const std::string& from);
  // Queues a RunDue at the Node's next deadline, unless one is queued that early already.
  void ArmDeadline();

  Simulation& sim_;
  SimulatedNetwork& net_;
  Config config_;
  std::string address_;
  std::unique_ptr<Node> node_;
  std::optional<HeartbeatComposer> composer_;
  std::vector<EventRecord> events_;
  std::uint64_t run_ = 0;  // bumped by every Start and Crash: stale actions see it changed
  std::uint64_t schedule_ = 0;  // the send schedule in force (see SendRound)
  bool running_ = false;
  MonoTime slot_{};
  MonoTime armed_ = kNever;
  std::array<std::uint8_t, kMaxMessageSize> buffer_{};
};

}  // namespace vigil::sim
