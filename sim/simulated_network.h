// A simulated UDP network between simulated nodes: datagrams are delivered after a latency
// (base plus uniform jitter), dropped with a loss probability, or dropped by a partition.
// Addresses are "host:port" strings, as Endpoint::ToString prints them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "sim/simulation.h"

namespace vigil::sim {

// Not thread-safe. Must outlive the deliveries it queued on the Simulation.
class SimulatedNetwork {
 public:
  using Receiver =
      std::function<void(std::span<const std::uint8_t> datagram, const std::string& from)>;

  explicit SimulatedNetwork(Simulation& simulation) : sim_(simulation) {}

  // Datagrams to `address` go to `receiver` from now on (replacing any earlier one).
  void Attach(const std::string& address, Receiver receiver);
  // Datagrams to `address` are lost from now on, also those already in flight (a crash).
  void Detach(const std::string& address);

  // Queues `datagram` for delivery (copied), unless lost or cut by a partition.
  void Send(const std::string& from, const std::string& to,
            std::span<const std::uint8_t> datagram);

  void set_latency(Duration base, Duration jitter) { base_ = base; jitter_ = jitter; }
  void set_loss(double probability) { loss_ = probability; }
  // No datagram crosses between the two sides, either way, until Heal.
  void Partition(const std::set<std::string>& side_a, const std::set<std::string>& side_b);
  void Heal() { cut_.clear(); }

  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  Simulation& sim_;
  std::map<std::string, Receiver> receivers_;
  std::map<std::string, std::uint64_t> attached_generation_;
  std::set<std::pair<std::string, std::string>> cut_;
  Duration base_ = std::chrono::milliseconds(1);
  Duration jitter_ = std::chrono::milliseconds(1);
  double loss_ = 0;
  std::uint64_t generation_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace vigil::sim
