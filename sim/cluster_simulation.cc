#include "sim/cluster_simulation.h"

#include <algorithm>
#include <cassert>

#include "daemon/local_health.h"
#include "membership/gossip_wire.h"
#include "transport/wire_format.h"

namespace vigil::sim {

using membership::MembershipNode;
using membership::Outbox;

struct ClusterSimulation::Node {
  std::unique_ptr<MembershipNode> member;
  bool alive = true;
  MonoTime crashed_at = kNever;
  MonoTime frozen_until = MonoTime::min();
  bool stopped = false;
  MonoTime stopped_since = MonoTime::min();  // when the current stop began
  MonoTime thawed_at = kNever;               // when the last stop ended
  Duration stopped_time{};                   // all stops, once over
  std::uint64_t stalls = 0;                  // stops the local-health guard would see
  bool ever_frozen = false;
  bool ever_starved = false;
  bool started = false;
  MonoTime view_full_at = kNever;
  MonoTime started_at = kNever;
  std::vector<std::function<void()>> backlog;  // what reached it while frozen
  MonoTime wake_at = kNever;  // the earliest queued wake-up
  Traffic traffic;
  Outbox out;
};

std::size_t HeartbeatBytes(const std::string& sender) {
  return kHeaderSize + sender.size() + AuthTrailerSize(kWireVersion);
}

std::string ClusterSimulation::IdOf(std::size_t node) { return "node-" + std::to_string(node); }

ClusterSimulation::ClusterSimulation(ClusterOptions options)
    : options_(std::move(options)),
      sim_(options_.seed),
      start_(sim_.now()),
      lost_(options_.loss),
      jitter_(0, std::max<std::int64_t>(0, options_.jitter.count())),
      // A fixed key (bytes 0..31): the cluster's, for signing and verifying its gossip.
      keyring_(*Keyring::Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")) {
  assert(options_.unstarted <= options_.nodes);
  const std::size_t first_members = options_.nodes - options_.unstarted;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < first_members; ++i) ids.push_back(IdOf(i));
  auto view = std::make_shared<const membership::ObserverGraph>(
      membership::ObserverGraph::Build(ids, options_.member.observers));
  this_second_.assign(options_.nodes, Second{});
  for (std::size_t i = 0; i < options_.nodes; ++i) {
    nodes_.push_back(std::make_unique<Node>());
    nodes_.back()->alive = false;
    index_.emplace(IdOf(i), i);
  }
  for (std::size_t i = 0; i < first_members; ++i) {
    MakeMember(i, view);
    Schedule(i);
  }
  sim_.After(std::chrono::seconds(1), [this] { CloseSecond(); });
}

void ClusterSimulation::MakeMember(std::size_t i,
                                   std::shared_ptr<const membership::ObserverGraph> view) {
  Node& node = *nodes_[i];
  membership::MembershipOptions member = options_.member;
  member.self = IdOf(i);
  if (view) {
    node.member = std::make_unique<MembershipNode>(member, std::move(view), graphs_, sim_.now());
  } else {
    for (std::size_t s = 0; s < std::min(options_.seeds, nodes_.size()); ++s) {
      member.seeds.push_back(IdOf(s));
    }
    const auto since_start = std::chrono::duration_cast<std::chrono::microseconds>(
        sim_.now() - MonoTime{});
    const auto before = node.member ? node.member->incarnation() : 0;
    member.incarnation = std::max<std::uint64_t>(
        static_cast<std::uint64_t>(since_start.count()) + 1, before + 1);
    node.member = std::make_unique<MembershipNode>(member, graphs_, sim_.now());
  }
  node.member->set_on_removed([this, i](const std::string& id, MonoTime at) {
    removals_.push_back({i, index_.at(id), at, nodes_[i]->member->left(id)});
  });
  node.member->set_on_readmitted([this, i](const std::string& id, MonoTime at) {
    readmissions_.push_back({i, index_.at(id), at});
  });
  node.alive = true;
  node.started = true;
  node.started_at = sim_.now();
}

void ClusterSimulation::StartAt(std::size_t i, MonoTime at) {
  sim_.At(at, [this, i] {
    Node& node = *nodes_[i];
    if (node.alive) return;  // running
    node.frozen_until = MonoTime::min();
    node.stopped = false;
    node.backlog.clear();
    node.wake_at = kNever;
    node.out.clear();
    MakeMember(i, nullptr);
    Wake(i);
  });
}

bool ClusterSimulation::started(std::size_t i) const { return nodes_[i]->started; }

MonoTime ClusterSimulation::started_at(std::size_t i) const { return nodes_[i]->started_at; }

void ClusterSimulation::WatchViews(std::size_t members, Duration every) {
  sim_.After(Duration::zero(), [this, members, every] { SampleViews(members, every); });
}

void ClusterSimulation::SampleViews(std::size_t members, Duration every) {
  for (auto& node : nodes_) {
    if (node->alive && node->view_full_at == kNever && node->member->view().size() >= members) {
      node->view_full_at = sim_.now();
    }
  }
  sim_.After(every, [this, members, every] { SampleViews(members, every); });
}

MonoTime ClusterSimulation::view_full_at(std::size_t i) const { return nodes_[i]->view_full_at; }

ClusterSimulation::~ClusterSimulation() = default;

bool ClusterSimulation::crashed(std::size_t node) const { return !nodes_[node]->alive; }

const ClusterSimulation::Traffic& ClusterSimulation::traffic(std::size_t node) const {
  return nodes_[node]->traffic;
}

const MembershipNode& ClusterSimulation::node(std::size_t i) const { return *nodes_[i]->member; }

void ClusterSimulation::CloseSecond() {
  per_second_.push_back(this_second_);
  std::fill(this_second_.begin(), this_second_.end(), Second{});
  sim_.After(std::chrono::seconds(1), [this] { CloseSecond(); });
}

void ClusterSimulation::CrashAt(std::size_t node, MonoTime at) {
  sim_.At(at, [this, node] {
    if (!nodes_[node]->alive) return;
    nodes_[node]->alive = false;
    nodes_[node]->crashed_at = sim_.now();
  });
}

void ClusterSimulation::LeaveAt(std::size_t i, MonoTime at) {
  sim_.At(at, [this, i] {
    Node& node = *nodes_[i];
    if (!node.alive) return;
    for (int copy = 0; copy < 2; ++copy) {
      node.member->Leave(node.out);
      Flush(i, node.out);
    }
    node.alive = false;
    node.crashed_at = sim_.now();
  });
}

MonoTime ClusterSimulation::crash_time(std::size_t node) const { return nodes_[node]->crashed_at; }

void ClusterSimulation::FreezeAt(std::size_t node, MonoTime at, Duration length) {
  sim_.At(at, [this, node] { nodes_[node]->ever_frozen = true; });
  Stop(node, at, length);
}

bool ClusterSimulation::ever_frozen(std::size_t node) const { return nodes_[node]->ever_frozen; }

void ClusterSimulation::StarveAt(std::size_t node, MonoTime at, Duration length, double share,
                                 Duration period) {
  assert(share > 0 && share < 1 && period > Duration::zero());
  sim_.At(at, [this, node] { nodes_[node]->ever_starved = true; });
  StarvePeriod(node, at, at + length, std::chrono::duration_cast<Duration>(period * share),
               period);
}

void ClusterSimulation::StarvePeriod(std::size_t node, MonoTime start, MonoTime end,
                                     Duration runs, Duration period) {
  if (start >= end) return;
  // One period at a time, so that a long starvation holds one pending event, not thousands.
  Stop(node, start + runs, std::min(period, end - start) - runs);
  sim_.At(start + period, [this, node, start, end, runs, period] {
    StarvePeriod(node, start + period, end, runs, period);
  });
}

bool ClusterSimulation::ever_starved(std::size_t node) const {
  return nodes_[node]->ever_starved;
}

Duration ClusterSimulation::stopped_time(std::size_t node) const {
  return nodes_[node]->stopped_time;
}

std::uint64_t ClusterSimulation::stalls(std::size_t node) const { return nodes_[node]->stalls; }

MonoTime ClusterSimulation::thawed_at(std::size_t node) const { return nodes_[node]->thawed_at; }

void ClusterSimulation::Stop(std::size_t node, MonoTime at, Duration length) {
  if (length <= Duration::zero()) return;
  sim_.At(at, [this, node, length] {
    Node& n = *nodes_[node];
    // A stop that begins as another ends (or during it) makes one long stop: the node never
    // ran in between, and the guard measures it whole.
    if (!n.stopped) {
      n.stopped = true;
      n.stopped_since = sim_.now();
    }
    n.frozen_until = std::max(n.frozen_until, sim_.now() + length);
    sim_.After(length, [this, node] { Thaw(node); });
  });
}

void ClusterSimulation::Thaw(std::size_t i) {
  Node& node = *nodes_[i];
  // Not yet (a later stop holds it), or thawed already (two stops ended at once).
  if (!node.alive || !node.stopped || sim_.now() < node.frozen_until) return;
  node.stopped = false;
  node.stopped_time += sim_.now() - node.stopped_since;
  node.thawed_at = sim_.now();
  // What vigild's local-health guard does when its event loop ran this late.
  const LocalHealthOptions guard = LocalHealthOptionsFor(options_.member.interval);
  if (sim_.now() - node.stopped_since >= guard.stall_threshold) {
    ++node.stalls;
    node.member->MarkObservationGap();
    node.member->AbstainUntil(sim_.now() + guard.listen_window);
  }
  auto backlog = std::move(node.backlog);
  node.backlog.clear();
  for (auto& handle : backlog) handle();
  Wake(i);
}

void ClusterSimulation::PartitionAt(std::vector<std::size_t> side, MonoTime at, Duration length) {
  sim_.At(at, [this, side = std::move(side), length] {
    side_.assign(nodes_.size(), false);
    for (std::size_t i : side) side_[i] = true;
    partitioned_ = ever_partitioned_ = true;
    sim_.After(length, [this] {
      NoteSidesAtHeal();
      partitioned_ = false;
      healed_at_ = sim_.now();
    });
  });
}

void ClusterSimulation::NoteSidesAtHeal() {
  sides_at_heal_ = {};
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]->started || !nodes_[i]->alive) continue;
    const membership::ClusterCounts c = nodes_[i]->member->Counts();
    SideAtHeal& side = sides_at_heal_[side_[i] ? 1 : 0];
    ++side.members;
    side.majority += c.majority();
    side.reach_min = std::min(side.reach_min, c.reach());
    side.reach_max = std::max(side.reach_max, c.reach());
  }
}

bool ClusterSimulation::Apart(std::size_t a, std::size_t b) const {
  return partitioned_ && side_[a] != side_[b];
}

bool ClusterSimulation::ever_apart(std::size_t a, std::size_t b) const {
  return ever_partitioned_ && side_[a] != side_[b];
}

void ClusterSimulation::Schedule(std::size_t i) {
  Node& node = *nodes_[i];
  const MonoTime next = node.member->NextWakeup();
  if (next >= node.wake_at) return;  // an earlier wake-up is queued; it reschedules
  node.wake_at = next;
  sim_.At(next, [this, i, next] {
    if (nodes_[i]->wake_at != next) return;  // superseded by an earlier one
    nodes_[i]->wake_at = kNever;
    Wake(i);
  });
}

void ClusterSimulation::Wake(std::size_t i) {
  Node& node = *nodes_[i];
  if (!node.alive || sim_.now() < node.frozen_until) return;  // Thaw wakes it
  node.member->Tick(sim_.now(), node.out);
  Flush(i, node.out);
  Schedule(i);
}

void ClusterSimulation::Deliver(std::size_t from, std::size_t to, std::size_t bytes,
                                std::function<void()> then) {
  Node& sender = *nodes_[from];
  ++sender.traffic.datagrams_sent;
  sender.traffic.bytes_sent += bytes;
  this_second_[from].bytes += static_cast<std::uint32_t>(bytes);
  ++this_second_[from].datagrams;
  if (lost_(sim_.rng()) || Apart(from, to)) return;
  const Duration delay = options_.delay + Duration(jitter_(sim_.rng()));
  sim_.After(delay, [this, to, bytes, then = std::move(then)] {
    Node& receiver = *nodes_[to];
    if (!receiver.alive) return;
    ++receiver.traffic.datagrams_received;
    receiver.traffic.bytes_received += bytes;
    if (sim_.now() < receiver.frozen_until) {
      receiver.backlog.push_back(then);
      return;
    }
    then();
    Flush(to, receiver.out);
    Schedule(to);
  });
}

void ClusterSimulation::Receive(std::size_t i, std::span<const std::uint8_t> bytes) {
  membership::MembershipDatagram datagram;
  membership::GossipReject why{};
  if (!membership::DecodeGossip(bytes, &keyring_, true, &datagram, &why)) {
    ++unusable_datagrams_;
    return;
  }
  const membership::Stamp stamp{datagram.header.incarnation, datagram.header.sequence,
                                datagram.header.echo};
  nodes_[i]->member->ReceiveGossip(datagram.gossip, datagram.header.sender, stamp, sim_.now(),
                                   nodes_[i]->out);
}

void ClusterSimulation::Flush(std::size_t i, Outbox& out) {
  const std::string& self = nodes_[i]->member->self();
  for (const std::string& to : out.heartbeats) {
    const std::size_t j = index_.at(to);
    // Each observer's copy echoes its incarnation, as vigild's do.
    const membership::Stamp stamp{out.heartbeat_incarnation, out.heartbeat_sequence,
                                  nodes_[i]->member->EchoFor(to)};
    Deliver(i, j, HeartbeatBytes(self), [this, i, j, stamp] {
      nodes_[j]->member->ReceiveHeartbeat(IdOf(i), stamp, sim_.now(), nodes_[j]->out);
    });
  }
  // Gossip goes as real membership datagrams, signed and decoded: what the simulation counts
  // and delivers is what vigild would send.
  MembershipNode& sender = *nodes_[i]->member;
  for (const auto& [to, gossip] : out.gossip) {
    const std::size_t j = index_.at(to);
    const membership::Stamp stamp = sender.StampFor(to);
    const membership::MembershipHeader header{self, stamp.incarnation, stamp.sequence,
                                              stamp.echo};
    auto datagrams = membership::EncodeGossip(gossip, header, &keyring_.primary());
    if (!datagrams) {
      ++unusable_datagrams_;
      continue;
    }
    sender.Sent(to, datagrams->size(), sim_.now());
    for (std::vector<std::uint8_t>& bytes : *datagrams) {
      const std::size_t size = bytes.size();
      Deliver(i, j, size, [this, j, bytes = std::move(bytes)] { Receive(j, bytes); });
    }
  }
  out.clear();
}

}  // namespace vigil::sim
