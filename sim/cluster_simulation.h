// A cluster of MembershipNodes (membership/) in simulated time: the same code a vigild member
// will run, thousands of nodes in one process, over a network with loss and delay. Seeded:
// the same options give the same run. The first slice of issue 15's vigil-sim.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "membership/membership_node.h"
#include "transport/keyring.h"
#include "sim/graph_cache.h"
#include "sim/simulation.h"

namespace vigil::sim {

struct ClusterOptions {
  std::size_t nodes = 100;
  membership::MembershipOptions member;  // `self` is set per node
  double loss = 0;                        // each datagram lost with this probability
  Duration delay = std::chrono::milliseconds(1);   // one-way delay: delay + uniform jitter
  Duration jitter = std::chrono::milliseconds(1);
  std::uint64_t seed = 1;
  // The last `unstarted` nodes are not in the first member list and do not run until
  // StartAt (all of them: a cold start). They join through the first `seeds` nodes.
  std::size_t unstarted = 0;
  std::size_t seeds = 3;
};

// The heartbeat's UDP payload size the simulation counts: protocol.md's authenticated
// datagram. Membership datagrams are counted at the size membership/gossip_wire.h gives them.
std::size_t HeartbeatBytes(const std::string& sender);

// Not thread-safe.
class ClusterSimulation {
 public:
  explicit ClusterSimulation(ClusterOptions options);
  ~ClusterSimulation();

  void RunFor(Duration d) { sim_.RunFor(d); }
  MonoTime now() const { return sim_.now(); }
  // When the run began: second s of sent_per_second() is [start() + s, start() + s + 1 s).
  MonoTime start() const { return start_; }
  std::size_t size() const { return nodes_.size(); }
  static std::string IdOf(std::size_t node);

  // The node stops at `at` (now, if past): it sends nothing more, and what reaches it is lost.
  void CrashAt(std::size_t node, MonoTime at);
  void Crash(std::size_t node) { CrashAt(node, now()); }
  bool crashed(std::size_t node) const;
  // At `at` (now, if past) the node leaves as vigild does when it stops: it tells its
  // neighbours it leaves (twice), then stops as in CrashAt; crash_time is when it left.
  void LeaveAt(std::size_t node, MonoTime at);
  // When the node crashed; kNever if it has not.
  MonoTime crash_time(std::size_t node) const;

  // At `at`, an unstarted or crashed node starts as a new process would: with nothing but
  // its seeds and an incarnation from the clock (microseconds of the simulated clock, plus 1,
  // and above any it had), it joins. (A restarted node counts as crashed no more; Measure's
  // crash figures leave such runs to their own checks.)
  void StartAt(std::size_t node, MonoTime at);
  bool started(std::size_t node) const;
  // When the node last started (StartAt, or the beginning of the run for a first member).
  MonoTime started_at(std::size_t node) const;
  // From now on, every `every`, notes for each running node whether its view holds at least
  // `members` members; view_full_at(node) is the first time it did (kNever if not yet).
  void WatchViews(std::size_t members, Duration every);
  MonoTime view_full_at(std::size_t node) const;

  // From `at` for `length` the node is stopped (SIGSTOP, a long pause): it runs nothing, and
  // what reaches it waits; then it handles all of that at once and goes on. The shell acts
  // as vigild's local-health guard would: a stop of LocalHealthOptions::stall_threshold
  // (250 ms) or more marks an observation gap, and the member abstains for the listen window
  // vigild uses (LocalHealthOptionsFor: max(1 s, 3 heartbeat intervals)). (vigild measures
  // the gap between two runs of its loop, which ticks every 50 ms, so it may also see a
  // slightly shorter stop; the simulation measures the stop alone.)
  void FreezeAt(std::size_t node, MonoTime at, Duration length);
  bool ever_frozen(std::size_t node) const;
  // From `at` for `length` the node gets `share` of a core, as under a CPU quota (cgroup
  // cpu.max) of share * period per period that it always uses up (the worst case: a real
  // quota throttles only a busy process): in each period it runs for the first
  // share * period and is stopped for the rest (each stop as in FreezeAt). Requires
  // 0 < share < 1 and period > 0.
  void StarveAt(std::size_t node, MonoTime at, Duration length, double share,
                Duration period = std::chrono::milliseconds(100));
  bool ever_starved(std::size_t node) const;
  // How long the node has been stopped in all (frozen or starved; stops that are over), and
  // how many of its stops were long enough for the local-health guard.
  Duration stopped_time(std::size_t node) const;
  std::uint64_t stalls(std::size_t node) const;
  // When the node's last stop ended; kNever if none has.
  MonoTime thawed_at(std::size_t node) const;

  // From `at` for `length`, no datagram crosses between the members in `side` and the rest.
  void PartitionAt(std::vector<std::size_t> side, MonoTime at, Duration length);
  // Whether `a` and `b` were ever on different sides of a partition.
  bool ever_apart(std::size_t a, std::size_t b) const;
  // When the last partition ended; kNever if none has.
  MonoTime healed_at() const { return healed_at_; }
  // Each side's live members just before the last partition healed, and how many of them
  // said they held a majority of the cluster (MembershipNode::Counts; [1]: `side`).
  struct SideAtHeal {
    std::size_t members = 0;
    std::size_t majority = 0;
    double reach_min = 1, reach_max = 0;
  };
  const std::array<SideAtHeal, 2>& sides_at_heal() const { return sides_at_heal_; }

  struct Removal {
    std::size_t by;  // the node that took it out
    std::size_t removed;
    MonoTime at;
    bool left = false;  // a removal: `removed` had said it leaves (not down)
  };
  // Every member each live or crashed node took out, in time order; and every member one
  // added back (Removal::removed names it), in time order.
  const std::vector<Removal>& removals() const { return removals_; }
  const std::vector<Removal>& readmissions() const { return readmissions_; }

  struct Traffic {
    std::uint64_t datagrams_sent = 0, bytes_sent = 0;
    std::uint64_t datagrams_received = 0, bytes_received = 0;
  };
  const Traffic& traffic(std::size_t node) const;
  // What each node sent in each whole second since the start (index: second, node).
  struct Second {
    std::uint32_t bytes = 0;
    std::uint32_t datagrams = 0;
  };
  const std::vector<std::vector<Second>>& sent_per_second() const { return per_second_; }
  // Requires started(i).
  const membership::MembershipNode& node(std::size_t i) const;
  const GraphCache& graphs() const { return graphs_; }
  // Membership datagrams that could not be encoded, or were rejected by their receiver. Any
  // is a bug: every member's gossip must survive the wire format as vigild would send it.
  std::uint64_t unusable_datagrams() const { return unusable_datagrams_; }

 private:
  struct Node;
  void Wake(std::size_t i);
  void Stop(std::size_t node, MonoTime at, Duration length);
  void StarvePeriod(std::size_t node, MonoTime start, MonoTime end, Duration runs,
                    Duration period);
  void Thaw(std::size_t i);
  bool Apart(std::size_t a, std::size_t b) const;
  void NoteSidesAtHeal();
  void Schedule(std::size_t i);
  void Flush(std::size_t i, membership::Outbox& out);
  // A membership datagram reaches node i: decoded and verified, then handed to it.
  void Receive(std::size_t i, std::span<const std::uint8_t> bytes);
  void Deliver(std::size_t from, std::size_t to, std::size_t bytes, std::function<void()> then);
  void CloseSecond();
  void MakeMember(std::size_t i, std::shared_ptr<const membership::ObserverGraph> view);
  void SampleViews(std::size_t members, Duration every);

  ClusterOptions options_;
  Simulation sim_;
  MonoTime start_;
  GraphCache graphs_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<Removal> removals_;
  std::vector<Removal> readmissions_;
  std::vector<bool> side_;  // of the partition: true for the members in `side`
  bool partitioned_ = false;
  bool ever_partitioned_ = false;
  MonoTime healed_at_ = kNever;
  std::array<SideAtHeal, 2> sides_at_heal_{};
  std::vector<std::vector<Second>> per_second_;
  std::vector<Second> this_second_;
  std::bernoulli_distribution lost_;
  std::uniform_int_distribution<std::int64_t> jitter_;
  Keyring keyring_;  // the cluster's key: every membership datagram is signed and verified
  std::uint64_t unusable_datagrams_ = 0;
};

}  // namespace vigil::sim
