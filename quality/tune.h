// Tuning a detector from a recorded trace (docs/tuning.md, "Tune"): the grid of settings,
// the split of the trace into a training and a held-out part, whether the trace can support
// the mistake budget at all, the score of every setting on each part, and the choice.
// Pure: no files, no output. `vigilctl tune` (ctl/tune_command.cc) renders the result; the
// quality table (bench/quality_table.cc) uses the same choice.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"
#include "quality/replay.h"
#include "quality/trace.h"

namespace vigil {

// One setting of the grid and, once scored, its figures on each part of the trace.
struct Candidate {
  std::string family;  // "adaptive", "phi", "phi-exponential" or "timeout"
  std::string spec;    // for ParseDetectorSpec and --detector
  std::string yaml;    // the `detector:` section for vigil.yaml
  QosFigures train;
  QosFigures test;
};

// Every family's knobs (docs/tuning.md, "Tune"), in settings an operator would write, for a
// sender heartbeating every `interval`. Figures unset. Never fails; thread-safe.
std::vector<Candidate> SweepGrid(Duration interval);

// The first (1 - holdout) of the trace's time span trains, the rest checks.
struct TraceSplit {
  std::size_t split = 0;      // rows [0, split) train, [split, end) check
  double train_hours = 0;     // the time each part covers
  double holdout_hours = 0;
};
// Nullopt when a part would have fewer than two heartbeats (so always for fewer than four
// rows). Requires 0 < holdout < 1. Thread-safe.
std::optional<TraceSplit> SplitByTime(const Trace& trace, double holdout);

// With no mistake in T hours, the 95 % upper confidence bound on the mistake rate is
// -ln(0.05) / T, about 3 / T per hour (the "rule of three", Poisson): a budget of R per hour
// can only be shown to be met by a part covering at least 3 / R hours.
inline constexpr double kZeroEventBound95 = 2.995732273553991;

struct Evidence {
  double hours_per_part = 0;   // what a part must cover for the budget: 3 / R
  double trace_hours = 0;      // the trace length that gives both parts that, at this holdout
  double smallest_budget = 0;  // the smallest budget this trace can support: 3 / shorter part
  bool enough = false;         // both parts cover hours_per_part
};
// Whether `split` can show a `budget` (mistakes per hour) met at this holdout. Requires
// budget > 0 and 0 < holdout < 1. Thread-safe.
Evidence CheckEvidence(const TraceSplit& split, double budget, double holdout);

// A setting is within the budget on a part when its mistake rate is at most the budget and
// it would detect every crash.
bool WithinBudget(const QosFigures& q, double budget);

struct Choice {
  const Candidate* candidate = nullptr;  // null: nothing met the budget on training
  bool holds_out = false;                // it also met the budget on the held-out part
};
struct TuneChoices {
  std::map<std::string, Choice> families;  // every family, chosen or not
  Choice best;
};
// Per family the fastest (mean detection time on training; the earlier on ties) setting
// within the budget on both parts; failing that, the fastest within it on training only.
// Overall the fastest family choice that holds out, failing that the fastest one. The
// choices point into `all`, which must outlive them. Thread-safe.
TuneChoices Choose(const std::vector<Candidate>& all, double budget);

struct TuneOptions {
  double max_mistakes_per_hour = 1.0;  // the budget
  double holdout = 0.3;                // fraction of the trace (by time) kept for checking
  // When set, called with done = 0 before the first setting is replayed and after each one,
  // on the calling thread; total is the number of settings.
  std::function<void(std::size_t done, std::size_t total)> progress;
};

enum class TuneStatus {
  kTuned,              // every setting scored and the choices made
  kTooShortToSplit,    // a part would have fewer than two heartbeats (SplitByTime)
  kNotEnoughEvidence,  // the trace cannot show the budget met (split and evidence set)
  kBadGridSpec,        // a grid setting did not parse: an internal error (error set)
};

// Move-only: `choices` point into `candidates`, which a copy would leave behind.
struct TuneResult {
  TuneResult() = default;
  TuneResult(TuneResult&&) = default;
  TuneResult& operator=(TuneResult&&) = default;
  TuneResult(const TuneResult&) = delete;
  TuneResult& operator=(const TuneResult&) = delete;

  TuneStatus status = TuneStatus::kTuned;
  std::string error;                  // kBadGridSpec: "internal error: <the spec's error>"
  TraceSplit split;                   // set unless kTooShortToSplit
  Evidence evidence;                  // set unless kTooShortToSplit
  std::vector<Candidate> candidates;  // kTuned: the grid, each scored on both parts
  TuneChoices choices;                // kTuned: Choose(candidates, budget)
};

// Splits `trace` by time, checks that both parts can support the budget, then replays the
// whole trace once per setting of SweepGrid(interval) (so the held-out part starts with a
// detector that has learned what it would have in service), scores each part on its own
// rows and chooses. On failure returns the status naming it, with what was found so far.
// Requires interval > 0, options.max_mistakes_per_hour > 0 and 0 < options.holdout < 1.
// Thread-safe (no shared state) except for what options.progress does.
TuneResult Tune(const Trace& trace, Duration interval, const TuneOptions& options);

}  // namespace vigil
