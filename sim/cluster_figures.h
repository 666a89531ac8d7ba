// What a cluster simulation measured, in the terms of issue 15's targets (S1-S5): detection
// delay of crashed members at every live member, false removals, cuts per member and traffic.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/cluster_simulation.h"

namespace vigil::sim {

struct Distribution {
  std::size_t count = 0;
  double p50 = 0, p99 = 0, max = 0, mean = 0;
};
// Percentiles by the nearest-rank method. Empty input: all zero.
Distribution Summarize(std::vector<double> values);

struct ClusterFigures {
  // Crash -> removal, seconds, over every (live member, crashed member) pair that was removed.
  Distribution detection_s;
  std::size_t crashed = 0;
  std::size_t pairs_expected = 0;  // sum over the crashed of the members live at the end
  std::size_t pairs_removed = 0;
  std::size_t pairs_left = 0;  // of those, removed as left (ClusterSimulation::LeaveAt)
  // Over all live members: their detectors' convictions of a subject, and refutations.
  std::uint64_t convictions = 0;
  std::uint64_t corroborated = 0;  // of those, on corroboration
  std::uint64_t refutations = 0;
  std::uint64_t abstentions = 0;  // reports held back by members in doubt of themselves
  // Datagrams (both streams) the live members refused as unconfirmed, the answers they
  // sent, and those refused as old_sequence (docs/membership.md, "Replays").
  std::uint64_t unconfirmed = 0;
  std::uint64_t unconfirmed_answered = 0;
  std::uint64_t old_sequence = 0;
  // Removals, by anyone, of members that had not crashed (then), were never frozen or
  // starved and were never on the other side of a partition from the remover.
  std::size_t false_removals = 0;
  // Removals of members that were frozen at some point (they were silent), and of members
  // on the other side of a partition (what a partition should cause).
  std::size_t frozen_removals = 0;
  std::size_t starved_removals = 0;  // of members that were CPU-starved at some point
  std::size_t across_partition_removals = 0;
  // Members taken out while alive (stopped, starved, or across a partition), for each: from
  // when it could be heard again (the end of its last stop, or of the partition) until the
  // last live member that had taken it out added it back (seconds; only members back
  // everywhere); and the (live member, such member) pairs still out at the end of the run.
  Distribution back_s;
  std::size_t still_out = 0;
  // Per live member: how many cuts it applied (distinct membership sizes it went through).
  std::vector<std::size_t> cuts_histogram;  // index: cuts, value: members
  // Bytes and datagrams sent per live member per second, over the seconds [from, to) of the
  // run: one value per live member and second, from the second in which it last started.
  Distribution bytes_per_second;
  Distribution datagrams_per_second;
  // Whether each side's members said they held a majority, just before the heal.
  std::array<ClusterSimulation::SideAtHeal, 2> sides_at_heal{};
};

// Crashes are the simulation's own (ClusterSimulation::crash_time). Traffic is taken over
// whole seconds [traffic_from, traffic_to) counted from the start of the run.
ClusterFigures Measure(const ClusterSimulation& c, std::size_t traffic_from,
                       std::size_t traffic_to);

}  // namespace vigil::sim
