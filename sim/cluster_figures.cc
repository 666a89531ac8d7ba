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

ClusterFigures Measure(const ClusterSimulation& c, std::size_t traffic_from,
                       std::size_t traffic_to) {
  ClusterFigures f;
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
    delays.push_back(std::chrono::duration<double>(r.at - crashed_at).count());
  }
  f.pairs_removed = pairs.size();
  f.detection_s = Summarize(std::move(delays));
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c.crashed(i)) continue;
    f.convictions += c.node(i).convictions();
    f.refutations += c.node(i).refutations();
    f.abstentions += c.node(i).abstentions();
    const std::size_t cuts = c.node(i).cuts();
    if (f.cuts_histogram.size() <= cuts) f.cuts_histogram.resize(cuts + 1, 0);
    ++f.cuts_histogram[cuts];
  }
  std::vector<double> bytes, datagrams;
  const auto& seconds = c.sent_per_second();
  for (std::size_t s = traffic_from; s < std::min(traffic_to, seconds.size()); ++s) {
    for (std::size_t i = 0; i < seconds[s].size(); ++i) {
      if (c.crashed(i)) continue;
      bytes.push_back(seconds[s][i].bytes);
      datagrams.push_back(seconds[s][i].datagrams);
    }
  }
  f.bytes_per_second = Summarize(std::move(bytes));
  f.datagrams_per_second = Summarize(std::move(datagrams));
  return f;
}

}  // namespace vigil::sim
