#include "sim/simulated_network.h"

namespace vigil::sim {

void SimulatedNetwork::Attach(const std::string& address, Receiver receiver) {
  receivers_[address] = std::move(receiver);
  attached_generation_[address] = ++generation_;
}

void SimulatedNetwork::Detach(const std::string& address) {
  receivers_.erase(address);
  attached_generation_.erase(address);
}

void SimulatedNetwork::Partition(const std::set<std::string>& side_a,
                                 const std::set<std::string>& side_b) {
  for (const auto& a : side_a) {
    for (const auto& b : side_b) {
      cut_.insert({a, b});
      cut_.insert({b, a});
    }
  }
}

void SimulatedNetwork::Send(const std::string& from, const std::string& to,
                            std::span<const std::uint8_t> datagram) {
  std::uniform_real_distribution<double> unit(0, 1);
  const auto target = attached_generation_.find(to);
  if (target == attached_generation_.end() || cut_.count({from, to}) ||
      unit(sim_.rng()) < loss_) {
    ++dropped_;
    return;
  }
  const Duration latency =
      base_ + std::chrono::duration_cast<Duration>(jitter_ * unit(sim_.rng()));
  // Delivered only to the same attachment it was sent to: a node that crashed and came
  // back does not receive what was in flight to its previous run.
  sim_.After(latency, [this, from, to, generation = target->second,
                       bytes = std::vector<std::uint8_t>(datagram.begin(), datagram.end())] {
    const auto now_attached = attached_generation_.find(to);
    if (now_attached == attached_generation_.end() || now_attached->second != generation ||
        cut_.count({from, to})) {
      ++dropped_;
      return;
    }
    ++delivered_;
    // A copy: the receiver may crash or restart its node (Detach, Attach) while it runs.
    const Receiver receiver = receivers_.at(to);
    receiver(bytes, from);
  });
}

}  // namespace vigil::sim
