// Replaying a trace through a detector, and the quality-of-service figures of Chen, Toueg &
// Aguilera ("On the quality of service of failure detectors", IEEE ToC 2002) for the result.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "detector/detector_knobs.h"
#include "detector/detector_options.h"
#include "base/time.h"
#include "quality/trace.h"

namespace vigil {

// The sender's interval as the trace shows it: the median of gap / sequence step between
// consecutive new heartbeats. Requires at least two rows with increasing seq; nullopt
// otherwise.
std::optional<Duration> InferInterval(const Trace& trace);

// For every row, S_i: the time (ms, trace clock) at which the detector, having processed
// rows 0..i, would start suspecting (reach its threshold) if nothing more arrived; +infinity
// if never. Rows whose seq is not above every earlier one (reordered or duplicated) are not
// fed to the detector, as in vigild, and get the S of the state they leave unchanged.
// The same detector classes vigild runs, created by MakeDetector.
std::vector<double> Replay(const Trace& trace, const DetectorOptions& options, Duration interval);

struct QosFigures {
  std::size_t heartbeats = 0;       // rows
  double observed_hours = 0;        // first to last new arrival
  std::size_t mistakes = 0;         // trust -> suspicion while the peer was alive
  double mistakes_per_hour = 0;
  double mistake_mean_ms = 0;       // mean time from a wrong suspicion to the next heartbeat
  double query_accuracy = 1;        // P_A: fraction of the time the detector trusted the peer
  // Detection time for a crash right after heartbeat i: S_i - send_i (S_i - recv_i when the
  // send time is unknown), over rows with a finite S_i.
  double detection_mean_ms = 0;
  double detection_p50_ms = 0;
  double detection_p99_ms = 0;
  double detection_max_ms = 0;
  std::size_t never_detected = 0;   // rows after which the detector would never suspect
  bool send_times_known = false;    // true when every row has send_ms
};

// Scores `suspect_at` (one entry per row, as Replay returns) against the trace. The peer of
// a trace is alive throughout: every suspicion that a later heartbeat ends is a mistake.
QosFigures ScoreQos(const Trace& trace, const std::vector<double>& suspect_at);
// The same for a part of a trace (rows and their suspicion times, equally long), without
// copying it: `vigilctl tune` scores training and held-out parts of one replay this way.
QosFigures ScoreQos(std::span<const TraceRow> rows, std::span<const double> suspect_at);

// The smallest fixed timeout whose mistakes on this trace stay within `mistakes_per_hour`
// (hindsight: it looks at the whole trace). The trace needs two new heartbeats.
Duration HindsightBestTimeout(const Trace& trace, double mistakes_per_hour);

}  // namespace vigil
