#include "detector/adaptive_params.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

namespace vigil {

namespace {

AdaptiveParams Normalize(const AdaptiveOptions& options) {
  AdaptiveParams p{options, 0, 0};
  p.options.margin = std::max(1.0, p.options.margin);
  if (!(p.options.target_mistakes_per_hour > 0)) p.options.target_mistakes_per_hour = 0.25;
  p.interval_ms = std::max(0.001, ToMillis(p.options.heartbeat_interval));
  const double memory_ms = std::max(p.interval_ms, ToMillis(p.options.memory));
  p.alpha = std::clamp(p.interval_ms / memory_ms, 1e-6, 0.5);
  return p;
}

// Normalized options, so no NaN: ordered as tuples.
using Key = std::tuple<Duration::rep, Duration::rep, double, double, bool>;

Key KeyOf(const AdaptiveOptions& o) {
  return {o.heartbeat_interval.count(), o.memory.count(), o.margin, o.target_mistakes_per_hour,
          o.per_condition};
}

struct Interned {
  std::mutex mutex;
  std::map<Key, std::unique_ptr<const AdaptiveParams>> by_key;
};

}  // namespace

const AdaptiveParams& InternedAdaptiveParams(const AdaptiveOptions& options) {
  // Never destroyed: detectors may outlive static destruction order.
  static auto* const table = new Interned;
  AdaptiveParams wanted = Normalize(options);
  const std::lock_guard lock(table->mutex);
  auto& slot = table->by_key[KeyOf(wanted.options)];
  if (!slot) slot = std::make_unique<const AdaptiveParams>(wanted);
  return *slot;
}

}  // namespace vigil
