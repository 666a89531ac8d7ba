// The work of vigilctl tune: the grid of settings, the split of a trace into a training and
// a held-out part, whether the trace can support the budget at all, and the choice.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ctl/trace_input.h"

namespace vigil {

struct Candidate {
  std::string family;
  std::string spec;  // for --detector
  std::string yaml;  // the detector section
  QosFigures train;
  QosFigures test;
};

// Every family's knobs (docs/tuning.md, "Tune"), in settings an operator would write.
std::vector<Candidate> SweepGrid(Duration interval);

// The first (1 - holdout) of the trace's time span trains, the rest checks.
struct TraceSplit {
  std::size_t split = 0;      // rows [0, split) train, [split, end) check
  double train_hours = 0;     // the time each part covers
  double holdout_hours = 0;
};
// Nullopt when a part would have fewer than two heartbeats.
std::optional<TraceSplit> SplitByTime(const Trace& trace, double holdout);

// With no mistake in T hours, the 95 % upper confidence bound on the mistake rate is
// -ln(0.05) / T, about 3 / T per hour (the "rule of three", Poisson): a budget of R per hour
// can only be shown to be met by a part covering at least 3 / R hours.
inline constexpr double kZeroEventBound95 = 2.995732273553991;

struct Evidence {
  double hours_per_part = 0;   // what a part must cover for the budget: 3 / R
  double trace_hours = 0;      // the trace length that gives both parts that, at this holdout
  double smallest_budget = 0;  // the smallest budget this trace can support: 3 / shorter part
  bool enough = false;
};
Evidence CheckEvidence(const TraceSplit& split, double budget, double holdout);
// The refusal, two lines naming how long a trace is needed.
std::string NotEnoughEvidence(const std::string& trace, const TraceSplit& split,
                              const Evidence& evidence, double budget, double holdout);
// "25 s", "18 min", "10 h", "4.2 days".
std::string FormatHours(double hours);

// Replays the whole trace once per candidate (so the held-out part starts with a detector
// that has learned what it would have in service) and scores each part on its own rows.
// Calls `progress(done)` after each candidate. False with *error on a bad grid spec.
bool ScoreCandidates(const LoadedTrace& loaded, std::size_t split, std::vector<Candidate>* all,
                     const std::function<void(std::size_t)>& progress, std::string* error);

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
// Per family the fastest (mean detection time on training) setting within the budget on
// both parts; failing that, the fastest within it on training only. Overall the fastest
// family choice that holds out, failing that the fastest one.
TuneChoices Choose(const std::vector<Candidate>& all, double budget);

}  // namespace vigil
