#include "ctl/tune_sweep.h"

#include <algorithm>
#include <cmath>
#include <span>

#include <fmt/format.h>

#include "config/duration.h"

namespace vigil {

namespace {

constexpr double kMsPerHour = 3'600'000.0;

Candidate Setting(std::string family, std::string spec, std::string yaml) {
  return {std::move(family), std::move(spec), std::move(yaml), {}, {}};
}

// Two significant digits below 10, whole numbers above: "7.5", "18", "1440".
std::string Figure(double x) {
  return x < 10 ? fmt::format("{:.2g}", x) : fmt::format("{:.0f}", x);
}

// Rounded up to two significant digits, so the budget shown is one the trace supports.
double RoundUp2(double x) {
  if (!(x > 0)) return x;
  const double scale = std::pow(10.0, std::floor(std::log10(x)) - 1);
  return std::ceil(x / scale) * scale;
}

}  // namespace

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
    c.push_back(Setting("timeout", "timeout:timeout=" + t,
                        fmt::format("detector:\n  kind: timeout\n  timeout: {}\n", t)));
  }
  const double thresholds[] = {0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 30};
  const double pauses[] = {0, 1, 3, 10, 30};
  for (double th : thresholds) {
    for (double p : pauses) {
      const std::string pause = p == 0 ? "0s" : ms(p * d);
      c.push_back(Setting("phi",
                          fmt::format("phi:threshold={},acceptable_heartbeat_pause={}", th, pause),
                          fmt::format("detector:\n  kind: phi\n  threshold: {}\n"
                                      "  acceptable_heartbeat_pause: {}\n",
                                      th, pause)));
    }
    c.push_back(Setting("phi-exponential", fmt::format("phi-exponential:threshold={}", th),
                        fmt::format("detector:\n  kind: phi-exponential\n  threshold: {}\n", th)));
  }
  for (const auto& a : AdaptiveTuningGrid()) c.push_back(Setting("adaptive", a.Spec(), a.Yaml()));
  return c;
}

std::optional<TraceSplit> SplitByTime(const Trace& trace, double holdout) {
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

std::string FormatHours(double hours) {
  if (hours < 1.0 / 60) return Figure(hours * 3600) + " s";
  if (hours < 1) return Figure(hours * 60) + " min";
  if (hours < 48) return Figure(hours) + " h";
  return Figure(hours / 24) + " days";
}

std::string NotEnoughEvidence(const std::string& trace, const TraceSplit& split,
                              const Evidence& e, double budget, double holdout) {
  return fmt::format(
      "vigilctl tune: {} is too short to support a budget of {} mistakes/h: it spans {}, so "
      "the training part covers {} and the held-out part ({:.0f} %) {}\n"
      "vigilctl tune: with no mistake in T hours a rate is only shown to be below 3/T per hour "
      "(95 % confidence, the rule of three), so this budget needs {} in each part: a trace of "
      "at least {} at --holdout {} ({} at --holdout 0.5). Record longer, or pass "
      "--max-mistakes-per-hour {} or more (docs/tuning.md, \"How long a trace\")\n",
      trace, budget, FormatHours(split.train_hours + split.holdout_hours),
      FormatHours(split.train_hours), holdout * 100, FormatHours(split.holdout_hours),
      FormatHours(e.hours_per_part), FormatHours(e.trace_hours), holdout,
      FormatHours(2 * e.hours_per_part), Figure(RoundUp2(e.smallest_budget)));
}

bool ScoreCandidates(const LoadedTrace& loaded, std::size_t split, std::vector<Candidate>* all,
                     const std::function<void(std::size_t)>& progress, std::string* error) {
  const std::span<const TraceRow> rows(loaded.trace.rows);
  std::size_t done = 0;
  for (auto& c : *all) {
    auto spec = ParseDetectorSpec(c.spec, loaded.interval);
    if (!spec.spec) {
      *error = "internal error: " + spec.error;
      return false;
    }
    const auto s = Replay(loaded.trace, spec.spec->options, loaded.interval);
    const std::span<const double> at(s);
    c.train = ScoreQos(rows.first(split), at.first(split));
    c.test = ScoreQos(rows.subspan(split), at.subspan(split));
    if (progress) progress(++done);
  }
  return true;
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

}  // namespace vigil
