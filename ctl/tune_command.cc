// vigilctl tune: the fastest settings within a mistake budget, from a recorded trace
// (docs/tuning.md, "Tune"). The grid, the split and the choice are in tune_sweep.h.
#include <algorithm>
#include <ostream>

#include <fmt/format.h>

#include "json/json_text.h"
#include "ctl/commands.h"
#include "ctl/output_file.h"
#include "ctl/progress.h"
#include "ctl/quality_commands.h"
#include "ctl/tune_plot.h"
#include "ctl/tune_sweep.h"

namespace vigil {

namespace json = boost::json;

namespace {

// Everything the report needs.
struct TuneRun {
  const TuneRequest& request;
  const LoadedTrace& loaded;
  const TraceSplit& split;
  const Evidence& evidence;
  const TuneChoices& choices;
  const std::string& plot;
};

int ExitCode(const TuneChoices& c) {
  return c.best.candidate != nullptr && c.best.holds_out ? kExitOk : kExitNo;
}

void PrintJson(const TuneRun& run, std::ostream& out) {
  json::object o;
  o["trace"] = run.request.trace;
  o["interval_ms"] = ToMillis(run.loaded.interval);
  o["budget_mistakes_per_hour"] = run.request.max_mistakes_per_hour;
  o["holdout"] = run.request.holdout;
  o["train_hours"] = JsonNumber(run.split.train_hours);
  o["holdout_hours"] = JsonNumber(run.split.holdout_hours);
  o["hours_needed_per_part"] = JsonNumber(run.evidence.hours_per_part);
  o["plot"] = run.plot;
  json::object families;
  for (const auto& [family, choice] : run.choices.families) {
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
  const Candidate* best = run.choices.best.candidate;
  o["best"] = best ? json::value(best->spec) : json::value(nullptr);
  o["best_holds_out"] = run.choices.best.holds_out;
  o["yaml"] = best ? json::value(best->yaml) : json::value(nullptr);
  out << ToJsonText(o) << "\n";
}

void PrintTable(const TuneRun& run, std::ostream& out) {
  const TuneRequest& r = run.request;
  out << fmt::format("{}: {} heartbeats, interval {:.3f} ms; trained on the first {:.0f} % ({}), "
                     "checked on the last {:.0f} % ({}); budget {} mistakes/h, which needs {} "
                     "per part\n\n",
                     r.trace, run.loaded.trace.rows.size(), ToMillis(run.loaded.interval),
                     (1 - r.holdout) * 100, FormatHours(run.split.train_hours), r.holdout * 100,
                     FormatHours(run.split.holdout_hours), r.max_mistakes_per_hour,
                     FormatHours(run.evidence.hours_per_part));
  std::size_t width = 33;
  for (const auto& [family, c] : run.choices.families) {
    width = std::max(width, c.candidate ? c.candidate->spec.size() : family.size());
  }
  out << fmt::format("{:<{}} {:>20} {:>20}  {}\n", "fastest within budget (training)", width,
                     "training: mist/h, T_D", "held out: mist/h, T_D", "held out");
  for (const auto& [family, c] : run.choices.families) {
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
  out << "\nplot: " << run.plot << "\n";
}

// The recommendation, or why there is none.
void PrintAdvice(const TuneRun& run, std::ostream& out, std::ostream& err) {
  const Choice& best = run.choices.best;
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

bool ValidRequest(const TuneRequest& r, std::ostream& err) {
  if (!(r.max_mistakes_per_hour > 0)) {
    err << "vigilctl tune: --max-mistakes-per-hour must be above 0\n";
    return false;
  }
  if (!(r.holdout > 0 && r.holdout < 1)) {
    err << "vigilctl tune: --holdout must be a fraction between 0 and 1 (exclusive), found "
        << r.holdout << "\n";
    return false;
  }
  return true;
}

}  // namespace

int CmdTune(const TuneRequest& r, std::ostream& out, std::ostream& err) {
  if (!ValidRequest(r, err)) return kExitError;
  std::string error;
  auto plot = OutputFile::Open(r.plot.empty() ? r.trace + ".tune.svg" : r.plot, &error);
  if (!plot) {
    err << "vigilctl tune: the plot: " << error << " (choose another with --plot FILE)\n";
    return kExitError;
  }
  const auto loaded = LoadTraceForCommand(r.trace, r.interval, err, "tune");
  if (!loaded) return kExitError;
  const auto split = SplitByTime(loaded->trace, r.holdout);
  if (!split) {
    err << "vigilctl tune: the trace is too short to hold out " << r.holdout << " of it\n";
    return kExitError;
  }
  const Evidence evidence = CheckEvidence(*split, r.max_mistakes_per_hour, r.holdout);
  if (!evidence.enough) {
    err << NotEnoughEvidence(r.trace, *split, evidence, r.max_mistakes_per_hour, r.holdout);
    return kExitError;
  }
  std::vector<Candidate> all = SweepGrid(loaded->interval);
  ProgressMeter meter(r.progress ? &err : nullptr, all.size(), "tune");
  if (!ScoreCandidates(*loaded, split->split, &all, [&](std::size_t n) { meter.Update(n); },
                       &error)) {
    err << "vigilctl tune: " << error << "\n";
    return kExitError;
  }
  const TuneChoices choices = Choose(all, r.max_mistakes_per_hour);
  const std::string svg =
      TunePlotSvg(all, choices, r.max_mistakes_per_hour,
                  fmt::format("{}: mean detection time vs mistakes per hour", r.trace));
  if (!plot->Commit(svg, &error)) {
    err << "vigilctl tune: " << error << "\n";
    return kExitError;
  }
  const TuneRun run{r, *loaded, *split, evidence, choices, plot->path()};
  if (r.json) {
    PrintJson(run, out);
  } else {
    PrintTable(run, out);
    PrintAdvice(run, out, err);
  }
  return ExitCode(choices);
}

}  // namespace vigil
