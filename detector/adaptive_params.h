// The settings of the adaptive detector, and one copy of them shared by every detector
// made with the same settings.
#pragma once

#include "base/time.h"

namespace vigil {

struct AdaptiveOptions {
  // The interval the peer sends at.
  Duration heartbeat_interval = std::chrono::seconds(1);
  // How long the detector remembers: the half-life of its estimates (expected arrival,
  // lateness envelope, loss statistics). Longer is steadier; shorter adapts faster.
  Duration memory = std::chrono::minutes(60);
  // Multiplies the lateness envelope: how far beyond the latest lateness it remembers a
  // heartbeat may still arrive without suspicion. >= 1.
  double margin = 1.5;
  // Mistakes per hour the loss allowance aims for, in each network condition (it picks how
  // many heartbeats in a row may be lost). > 0.
  double target_mistakes_per_hour = 0.25;
  // Learn separately for each level of queueing delay (see AdaptiveDetector). Off only to
  // measure what it buys.
  bool per_condition = true;
};

// AdaptiveOptions made valid (margin >= 1, a positive target), with what follows from them.
struct AdaptiveParams {
  AdaptiveOptions options;
  double interval_ms;  // options.heartbeat_interval, at least 1 µs
  double alpha;        // per-heartbeat weight of the running averages, from `memory`
};

// The one AdaptiveParams for `options` (after normalizing), the same object for every call
// with equal options: a million peers judged alike hold one copy, not a million (each
// detector keeps a pointer). Kept until the process exits, so the reference never dangles;
// a process sees a handful of distinct settings (a reload adds its new ones, `vigilctl tune`
// one per candidate it tries; about 200 bytes each). Thread-safe; throws only std::bad_alloc.
const AdaptiveParams& InternedAdaptiveParams(const AdaptiveOptions& options);

}  // namespace vigil
