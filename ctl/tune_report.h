// What vigilctl tune prints: the result of quality/tune.h's Tune as a table and the YAML to
// paste, or as JSON, and the refusal of a trace too short for the budget. Rendering only;
// the tuning itself is in quality/tune.h, the plot in tune_plot.h.
#pragma once

#include <iosfwd>
#include <string>

#include "ctl/quality_commands.h"
#include "ctl/trace_input.h"
#include "quality/tune.h"

namespace vigil {

// "25 s", "18 min", "10 h", "4.2 days". Thread-safe.
std::string FormatHours(double hours);

// The refusal of a trace too short for the budget (CheckEvidence found not enough): two
// lines, each starting "vigilctl tune: ", naming how long a trace is needed and the
// smallest budget this one supports. `trace` names the file. Thread-safe.
std::string NotEnoughEvidence(const std::string& trace, const TraceSplit& split,
                              const Evidence& evidence, double budget, double holdout);

// Everything the report needs. Requires result.status == TuneStatus::kTuned.
struct TuneReport {
  const TuneRequest& request;
  const LoadedTrace& loaded;
  const TuneResult& result;
  const std::string& plot;  // where the SVG was written
};

// One JSON object: the split, the evidence, every family's choice and the overall one.
void PrintTuneJson(const TuneReport& report, std::ostream& out);

// The split and the budget, then per family the choice with its figures on both parts.
void PrintTuneTable(const TuneReport& report, std::ostream& out);

// The YAML of the overall choice to paste into vigil.yaml, or why there is none; a warning
// on `err` when the choice did not hold out.
void PrintTuneAdvice(const TuneReport& report, std::ostream& out, std::ostream& err);

}  // namespace vigil
