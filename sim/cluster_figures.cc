#include "sim/cluster_figures.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace vigil::sim {

Distribution Summarize(std::vector<double> values) {
  Distribution d;
  d.count = values.size();
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  auto rank = [&](double q) {
    const auto at = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(at, 1, values.size()) - 1];
  };
  d.p50 = rank(0.50);
  d.p99 = rank(0.99);
  d.max = values.back();
  d.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  return d;
}

namespace {

// When member m could be heard again after live members took it out; kNever if it cannot
// yet (still stopped, or across a partition that has not healed).
MonoTime Resumed(const ClusterSimulation& c, std::size_t m, bool across) {
  MonoTime at = MonoTime::min();
  if (c.ever_frozen(m) || c.ever_starved(m)) at = c.thawed_at(m);
  if (across) at = std::max(at, c.healed_at());
  return at;
}

void MeasureComebacks(const ClusterSimulation& c, ClusterFigures& f) {
  std::vector<MonoTime> back_at(c.size(), MonoTime::min());
  std::vector<bool> removed(c.size(), false), across(c.size(), false);
  for (const auto& r : c.removals()) {
    if (c.crashed(r.by) || r.at >= c.crash_time(r.removed)) continue;
    removed[r.removed] = true;
    across[r.removed] = across[r.removed] || c.ever_apart(r.by, r.removed);
  }
  for (const auto& r : c.readmissions()) {
    if (!c.crashed(r.by)) back_at[r.removed] = std::max(back_at[r.removed], r.at);
  }
  std::vector<double> back;
  for (std::size_t m = 0; m < c.size(); ++m) {
    if (c.crashed(m) || !removed[m]) continue;
    std::size_t out = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (i != m && !c.crashed(i) && !c.node(i).view().Find(ClusterSimulation::IdOf(m))) ++out;
    }
    f.still_out += out;
    const MonoTime resumed = Resumed(c, m, across[m]);
    if (out == 0 && resumed != kNever && resumed != MonoTime::min()) {
      back.push_back(std::chrono::duration<double>(back_at[m] - resumed).count());
    }
  }
  f.back_s = Summarize(std::move(back));
}

}  // namespace

ClusterFigures Measure(const ClusterSimulation& c, std::size_t traffic_from,
                       std::size_t traffic_to) {
  ClusterFigures f;
  f.sides_at_heal = c.sides_at_heal();
  std::size_t live = 0;
  for (std::size_t i = 0; i < c.size(); ++i) live += c.crashed(i) ? 0 : 1;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c.crashed(i)) ++f.crashed;
  }
  f.pairs_expected = live * f.crashed;
  std::vector<double> delays;
  std::set<std::pair<std::size_t, std::size_t>> pairs;
  for (const auto& r : c.removals()) {
    const MonoTime crashed_at = c.crash_time(r.removed);
    if (r.at < crashed_at) {  // not crashed (kNever), or not yet
      if (c.ever_frozen(r.removed)) {
        ++f.frozen_removals;
      } else if (c.ever_starved(r.removed)) {
        ++f.starved_removals;
      } else if (c.ever_apart(r.by, r.removed)) {
        ++f.across_partition_removals;
      } else {
        ++f.false_removals;
      }
      continue;
    }
    if (c.crashed(r.by) || !pairs.emplace(r.by, r.removed).second) continue;
    if (r.left) ++f.pairs_left;
    delays.push_back(std::chrono::duration<double>(r.at - crashed_at).count());
  }
  f.pairs_removed = pairs.size();
  f.detection_s = Summarize(std::move(delays));
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c.crashed(i)) continue;
    f.convictions += c.node(i).convictions();
    f.corroborated += c.node(i).corroborated_convictions();
    f.refutations += c.node(i).refutations();
    f.abstentions += c.node(i).abstentions();
    for (const auto stream : {membership::Stream::kGossip, membership::Stream::kHeartbeat}) {
      f.unconfirmed += c.node(i).refused(stream, membership::Freshness::kUnconfirmed);
      f.old_sequence += c.node(i).refused(stream, membership::Freshness::kOldSequence);
    }
    f.unconfirmed_answered += c.node(i).unconfirmed_answered();
    const std::size_t cuts = c.node(i).cuts();
    if (f.cuts_histogram.size() <= cuts) f.cuts_histogram.resize(cuts + 1, 0);
    ++f.cuts_histogram[cuts];
  }
  std::vector<double> bytes, datagrams;
  const auto& seconds = c.sent_per_second();
  for (std::size_t s = traffic_from; s < std::min(traffic_to, seconds.size()); ++s) {
    const MonoTime second_end = c.start() + std::chrono::seconds(s + 1);
    for (std::size_t i = 0; i < seconds[s].size(); ++i) {
      // Live members, from the second in which they started.
      if (c.crashed(i) || c.started_at(i) >= second_end) continue;
      bytes.push_back(seconds[s][i].bytes);
      datagrams.push_back(seconds[s][i].datagrams);
    }
  }
  f.bytes_per_second = Summarize(std::move(bytes));
  f.datagrams_per_second = Summarize(std::move(datagrams));
  MeasureComebacks(c, f);
  return f;
}

}  // namespace vigil::sim
