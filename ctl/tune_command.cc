// vigilctl tune: the fastest settings within a mistake budget, from a recorded trace
// (docs/tuning.md, "Tune"). Loads the trace, tunes with quality/tune.h's Tune, writes the
// plot (tune_plot.h) and prints the report (tune_report.h).
#include <cstddef>
#include <optional>
#include <ostream>

#include <fmt/format.h>

#include "ctl/commands.h"
#include "ctl/output_file.h"
#include "ctl/progress.h"
#include "ctl/quality_commands.h"
#include "ctl/trace_input.h"
#include "ctl/tune_plot.h"
#include "ctl/tune_report.h"
#include "quality/tune.h"

namespace vigil {

namespace {

int ExitCode(const TuneChoices& c) {
  return c.best.candidate != nullptr && c.best.holds_out ? kExitOk : kExitNo;
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

// True when Tune tuned; else false with the reason on `err`.
bool Tuned(const TuneResult& t, const TuneRequest& r, std::ostream& err) {
  switch (t.status) {
    case TuneStatus::kTuned:
      return true;
    case TuneStatus::kTooShortToSplit:
      err << "vigilctl tune: the trace is too short to hold out " << r.holdout << " of it\n";
      return false;
    case TuneStatus::kNotEnoughEvidence:
      err << NotEnoughEvidence(r.trace, t.split, t.evidence, r.max_mistakes_per_hour, r.holdout);
      return false;
    case TuneStatus::kBadGridSpec:
      err << "vigilctl tune: " << t.error << "\n";
      return false;
  }
  return false;
}

}  // namespace

int CmdTune(const TuneRequest& r, std::ostream& out, std::ostream& err) {
  if (!ValidRequest(r, err)) return kExitError;
  auto plot = OutputFile::Open(r.plot.empty() ? r.trace + ".tune.svg" : r.plot);
  if (!plot) {
    err << "vigilctl tune: the plot: " << plot.message() << " (choose another with --plot FILE)\n";
    return kExitError;
  }
  const auto loaded = LoadTraceForCommand(r.trace, r.interval, err, "tune");
  if (!loaded) return kExitError;
  TuneOptions options;
  options.max_mistakes_per_hour = r.max_mistakes_per_hour;
  options.holdout = r.holdout;
  std::optional<ProgressMeter> meter;  // made when the sweep starts and its size is known
  if (r.progress) {
    options.progress = [&meter, &err](std::size_t done, std::size_t total) {
      if (!meter) meter.emplace(&err, total, "tune");
      meter->Update(done);
    };
  }
  const TuneResult result = Tune(loaded->trace, loaded->interval, options);
  if (!Tuned(result, r, err)) return kExitError;
  const std::string svg =
      TunePlotSvg(result.candidates, result.choices, r.max_mistakes_per_hour,
                  fmt::format("{}: mean detection time vs mistakes per hour", r.trace));
  if (const Status written = plot->Commit(svg); !written.ok()) {
    err << "vigilctl tune: " << written.message() << "\n";
    return kExitError;
  }
  const TuneReport report{r, *loaded, result, plot->path()};
  if (r.json) {
    PrintTuneJson(report, out);
  } else {
    PrintTuneTable(report, out);
    PrintTuneAdvice(report, out, err);
  }
  return ExitCode(result.choices);
}

}  // namespace vigil
