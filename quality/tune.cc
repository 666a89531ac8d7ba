#include "quality/tune.h"

#include <cassert>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <span>
#include <utility>

#include <fmt/format.h>

#include "base/duration.h"

namespace vigil {

namespace {

constexpr double kMsPerHour = 3'600'000.0;

// A setting of `keys` on top of the defaults of `kind`; its spec and YAML written by the
// detector's schema (detector/detector_knobs.h), so they read back to the same options.
Candidate Setting(DetectorKind kind, std::vector<std::pair<std::string, std::string>> knobs) {
  DetectorOptions options;
  options.set_kind(kind);
  std::vector<std::string> keys;
  for (const auto& [key, value] : knobs) {
    [[maybe_unused]] const auto error = FindDetectorKnob(key)->Set(options, value);
    assert(!error);  // the grid below only writes valid values
    keys.push_back(key);
  }
  return {std::string(DetectorKindName(kind)), DetectorSpecText(options, keys),
          DetectorYaml(options, keys), {}, {}};
}

// Replays the whole trace once per candidate and scores each part on its own rows. Empty,
// or "internal error: ..." naming a grid spec that did not parse.
std::string ScoreCandidates(const Trace& trace, Duration interval, std::size_t split,
                            std::vector<Candidate>* all, const TuneOptions& options) {
  const std::span<const TraceRow> rows(trace.rows);
  const std::size_t total = all->size();
  if (options.progress) options.progress(0, total);
  std::size_t done = 0;
  for (auto& c : *all) {
    auto spec = ParseDetectorSpec(c.spec);
    if (!spec) return "internal error: " + spec.message();
    const auto s = Replay(trace, spec->options, interval);
    const std::span<const double> at(s);
    c.train = ScoreQos(rows.first(split), at.first(split));
    c.test = ScoreQos(rows.subspan(split), at.subspan(split));
    if (options.progress) options.progress(++done, total);
  }
  return {};
}

}  // namespace

// The spec (for --detector) and the YAML of every setting are written here, side by side.
std::vector<Candidate> SweepGrid(Duration interval) {
  const double d = ToMillis(interval);
  auto ms = [](double x) {
    return FormatDuration(std::chrono::milliseconds(std::max<long long>(1, std::llround(x))));
  };
  std::vector<Candidate> c;
  std::string previous;
  for (double k = 1.05; k <= 120; k *= 1.12) {
    const std::string t = ms(k * d);
    if (t == previous) continue;  // short intervals round several steps to one setting
    previous = t;
    c.push_back(Setting(DetectorKind::kTimeout, {{"timeout", t}}));
  }
  const double thresholds[] = {0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 30};
  const double pauses[] = {0, 1, 3, 10, 30};
  for (double th : thresholds) {
    const std::string threshold = fmt::format("{}", th);
    for (double p : pauses) {
      c.push_back(Setting(DetectorKind::kPhi, {{"threshold", threshold},
                                               {"acceptable_heartbeat_pause",
                                                p == 0 ? "0s" : ms(p * d)}}));
    }
    c.push_back(Setting(DetectorKind::kPhiExponential, {{"threshold", threshold}}));
  }
  // The adaptive detector's knobs: a few margins, memories and target rates.
  for (const char* target : {"0.1", "0.25", "0.5", "1", "2"}) {
    for (const char* margin : {"1", "1.25", "1.5", "2"}) {
      for (const char* memory : {"5m", "15m", "60m"}) {
        c.push_back(Setting(DetectorKind::kAdaptive, {{"margin", margin},
                                                      {"memory", memory},
                                                      {"target_mistakes_per_hour", target}}));
      }
    }
  }
  return c;
}

std::optional<TraceSplit> SplitByTime(const Trace& trace, double holdout) {
  if (trace.rows.size() < 4) return std::nullopt;  // two heartbeats per part at least
  const double t0 = trace.rows.front().recv_ms, t1 = trace.rows.back().recv_ms;
  const double cut = t0 + (t1 - t0) * (1 - holdout);
  TraceSplit s;
  while (s.split < trace.rows.size() && trace.rows[s.split].recv_ms < cut) ++s.split;
  if (s.split < 2 || trace.rows.size() - s.split < 2) return std::nullopt;
  s.train_hours = (cut - t0) / kMsPerHour;
  s.holdout_hours = (t1 - cut) / kMsPerHour;
  return s;
}

Evidence CheckEvidence(const TraceSplit& split, double budget, double holdout) {
  Evidence e;
  e.hours_per_part = kZeroEventBound95 / budget;
  e.trace_hours = e.hours_per_part / std::min(holdout, 1 - holdout);
  const double shorter = std::min(split.train_hours, split.holdout_hours);
  e.smallest_budget = shorter > 0 ? kZeroEventBound95 / shorter : HUGE_VAL;
  e.enough = shorter >= e.hours_per_part;
  return e;
}

bool WithinBudget(const QosFigures& q, double budget) {
  return q.mistakes_per_hour <= budget && q.never_detected == 0;
}

TuneChoices Choose(const std::vector<Candidate>& all, double budget) {
  TuneChoices t;
  for (const char* family : {"adaptive", "phi", "phi-exponential", "timeout"}) {
    t.families[family] = {};
  }
  auto faster = [](const Candidate& a, const Candidate* b) {
    return b == nullptr || a.train.detection_mean_ms < b->train.detection_mean_ms;
  };
  for (const auto& c : all) {
    if (!WithinBudget(c.train, budget)) continue;
    Choice& best = t.families[c.family];
    const bool holds = WithinBudget(c.test, budget);
    // A setting that also held out beats any that did not, however fast.
    if ((holds && !best.holds_out) || (holds == best.holds_out && faster(c, best.candidate))) {
      best = {&c, holds};
    }
  }
  for (const auto& [family, choice] : t.families) {
    if (choice.candidate == nullptr) continue;
    if ((choice.holds_out && !t.best.holds_out) ||
        (choice.holds_out == t.best.holds_out && faster(*choice.candidate, t.best.candidate))) {
      t.best = choice;
    }
  }
  return t;
}

TuneResult Tune(const Trace& trace, Duration interval, const TuneOptions& options) {
  TuneResult r;
  const std::optional<TraceSplit> split = SplitByTime(trace, options.holdout);
  if (!split) {
    r.status = TuneStatus::kTooShortToSplit;
    return r;
  }
  r.split = *split;
  r.evidence = CheckEvidence(r.split, options.max_mistakes_per_hour, options.holdout);
  if (!r.evidence.enough) {
    r.status = TuneStatus::kNotEnoughEvidence;
    return r;
  }
  r.candidates = SweepGrid(interval);
  r.error = ScoreCandidates(trace, interval, r.split.split, &r.candidates, options);
  if (!r.error.empty()) {
    r.status = TuneStatus::kBadGridSpec;
    return r;
  }
  r.choices = Choose(r.candidates, options.max_mistakes_per_hour);
  r.status = TuneStatus::kTuned;
  return r;
}

}  // namespace vigil
