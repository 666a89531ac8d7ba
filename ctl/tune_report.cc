#include "ctl/tune_report.h"

#include <algorithm>
#include <cmath>
#include <ostream>
#include <utility>

#include <fmt/format.h>

#include "json/json_text.h"

namespace vigil {

namespace json = boost::json;

namespace {

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

void PrintTuneJson(const TuneReport& report, std::ostream& out) {
  const TuneRequest& r = report.request;
  const TuneResult& t = report.result;
  json::object o;
  o["trace"] = r.trace;
  o["interval_ms"] = ToMillis(report.loaded.interval);
  o["budget_mistakes_per_hour"] = r.max_mistakes_per_hour;
  o["holdout"] = r.holdout;
  o["train_hours"] = JsonNumber(t.split.train_hours);
  o["holdout_hours"] = JsonNumber(t.split.holdout_hours);
  o["hours_needed_per_part"] = JsonNumber(t.evidence.hours_per_part);
  o["plot"] = report.plot;
  json::object families;
  for (const auto& [family, choice] : t.choices.families) {
    if (choice.candidate == nullptr) {
      families[family] = nullptr;
      continue;
    }
    json::object f;
    f["detector"] = choice.candidate->spec;
    f["train"] = QosJson(choice.candidate->train);
    f["holdout"] = QosJson(choice.candidate->test);
    f["holds_out"] = choice.holds_out;
    families[family] = std::move(f);
  }
  o["chosen"] = std::move(families);
  const Candidate* best = t.choices.best.candidate;
  o["best"] = best ? json::value(best->spec) : json::value(nullptr);
  o["best_holds_out"] = t.choices.best.holds_out;
  o["yaml"] = best ? json::value(best->yaml) : json::value(nullptr);
  out << ToJsonText(o) << "\n";
}

void PrintTuneTable(const TuneReport& report, std::ostream& out) {
  const TuneRequest& r = report.request;
  const TuneResult& t = report.result;
  out << fmt::format("{}: {} heartbeats, interval {:.3f} ms; trained on the first {:.0f} % ({}), "
                     "checked on the last {:.0f} % ({}); budget {} mistakes/h, which needs {} "
                     "per part\n\n",
                     r.trace, report.loaded.trace.rows.size(), ToMillis(report.loaded.interval),
                     (1 - r.holdout) * 100, FormatHours(t.split.train_hours), r.holdout * 100,
                     FormatHours(t.split.holdout_hours), r.max_mistakes_per_hour,
                     FormatHours(t.evidence.hours_per_part));
  std::size_t width = 33;
  for (const auto& [family, c] : t.choices.families) {
    width = std::max(width, c.candidate ? c.candidate->spec.size() : family.size());
  }
  out << fmt::format("{:<{}} {:>20} {:>20}  {}\n", "fastest within budget (training)", width,
                     "training: mist/h, T_D", "held out: mist/h, T_D", "held out");
  for (const auto& [family, c] : t.choices.families) {
    if (c.candidate == nullptr) {
      out << fmt::format("{:<{}} {:>20}\n", family, width, "none within budget");
      continue;
    }
    const Candidate& k = *c.candidate;
    out << fmt::format("{:<{}} {:>9.2f}, {:>8} {:>9.2f}, {:>8}  {}\n", k.spec, width,
                       k.train.mistakes_per_hour, FormatMs(k.train.detection_mean_ms),
                       k.test.mistakes_per_hour, FormatMs(k.test.detection_mean_ms),
                       c.holds_out ? "within" : "OVER budget");
  }
  out << "\nplot: " << report.plot << "\n";
}

void PrintTuneAdvice(const TuneReport& report, std::ostream& out, std::ostream& err) {
  const Choice& best = report.result.choices.best;
  if (best.candidate == nullptr) {
    out << "no setting met the budget on the training part; raise --max-mistakes-per-hour\n";
    return;
  }
  if (best.holds_out) {
    out << "\npaste into vigil.yaml (" << best.candidate->spec << "):\n\n" << best.candidate->yaml;
    return;
  }
  err << fmt::format(
      "vigilctl tune: warning: no setting met the budget on both parts; the fastest within it "
      "on the training part made {:.2f} mistakes/h on the held-out part. The network changed "
      "during the recording, or rare events decide: record longer before trusting it\n",
      best.candidate->test.mistakes_per_hour);
  out << "\nNOT within the budget held out; only if you accept that (" << best.candidate->spec
      << "):\n\n"
      << best.candidate->yaml;
}

}  // namespace vigil
