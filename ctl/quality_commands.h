// vigilctl replay (replay_command.cc) and vigilctl tune (tune_command.cc): detection
// quality from heartbeat traces (docs/tuning.md). Offline: no daemon needed.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"

namespace vigil {

struct ReplayRequest {
  std::string trace;
  std::vector<std::string> detectors;   // specs; empty: the default detector
  std::optional<Duration> interval;     // empty: inferred from the trace
  std::string suspect_out;              // write seq,suspect_at_ms here (one detector only)
  bool json = false;
};

// Replays the trace through each detector and prints the QoS figures. Exit 0, or 2 with a
// message naming the problem (unreadable trace and its line, bad detector spec and its key).
int CmdReplay(const ReplayRequest& r, std::ostream& out, std::ostream& err);

struct TuneRequest {
  std::string trace;
  double max_mistakes_per_hour = 1.0;
  double holdout = 0.3;                 // fraction of the trace (by time) kept for checking
  std::optional<Duration> interval;
  std::string plot;                     // SVG path; empty: TRACE.tune.svg
  bool json = false;
  bool progress = false;                // a line a second on stderr (main: if it is a tty)
};

// Refuses (exit 2) a trace too short for the budget (quality/tune.h, CheckEvidence). Else
// sweeps every detector family's knobs, picks per family the fastest setting within the
// budget on the training part, preferring one that also stays within it on the held-out
// part, prints the YAML of the overall choice and writes the SVG trade-off plot. Exit 0
// when the choice met the budget on both parts, 1 when nothing did, 2 on errors.
int CmdTune(const TuneRequest& r, std::ostream& out, std::ostream& err);

}  // namespace vigil
