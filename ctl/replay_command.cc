// vigilctl replay: a heartbeat trace through chosen detectors, and their QoS figures
// (docs/tuning.md, "Replay").
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <ostream>

#include <fmt/format.h>

#include "json/json_text.h"
#include "ctl/commands.h"
#include "ctl/quality_commands.h"
#include "ctl/trace_input.h"

namespace vigil {

namespace json = boost::json;

namespace {

constexpr const char* kDefaultDetector = "adaptive";

struct Replayed {
  std::string name;
  QosFigures figures;
};

// seq,suspect_at_ms per row, so another tool can score exactly the same decisions.
bool WriteSuspectOut(const std::string& path, const Trace& trace, const std::vector<double>& s,
                     std::ostream& err) {
  std::ofstream f(path, std::ios::trunc);
  f << "seq,suspect_at_ms\n";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (std::isfinite(s[i])) {
      f << fmt::format("{},{:.3f}\n", trace.rows[i].seq, s[i]);
    } else {
      f << trace.rows[i].seq << ",inf\n";
    }
  }
  f.close();
  if (!f) {
    err << "vigilctl replay: cannot write " << path << ": " << std::strerror(errno) << "\n";
    return false;
  }
  return true;
}

void PrintJson(const ReplayRequest& r, const LoadedTrace& loaded,
               const std::vector<Replayed>& results, std::ostream& out) {
  json::array list;
  for (const auto& [name, q] : results) {
    json::object o = QosJson(q);
    o["detector"] = name;
    list.push_back(std::move(o));
  }
  json::object o;
  o["trace"] = r.trace;
  o["interval_ms"] = ToMillis(loaded.interval);
  o["interval_inferred"] = loaded.inferred;
  o["results"] = std::move(list);
  out << ToJsonText(o) << "\n";
}

void PrintTable(const ReplayRequest& r, const LoadedTrace& loaded,
                const std::vector<Replayed>& results, double heartbeats_per_second,
                std::ostream& out) {
  const QosFigures& first = results.front().figures;
  out << fmt::format("{}: {} heartbeats over {:.2f} h, interval {:.3f} ms ({}), detection time "
                     "from {} times\n",
                     r.trace, first.heartbeats, first.observed_hours, ToMillis(loaded.interval),
                     loaded.inferred ? "inferred" : "given",
                     first.send_times_known ? "send" : "receive");
  std::size_t width = 8;
  for (const auto& result : results) width = std::max(width, result.name.size());
  out << fmt::format("{:<{}}  {:>8} {:>8} {:>12} {:>10}  {:>9} {:>9} {:>9} {:>9}\n", "detector",
                     width, "mistakes", "per hour", "mean mistake", "P_A", "T_D mean", "p50",
                     "p99", "max");
  for (const auto& [name, q] : results) {
    out << fmt::format("{:<{}}  {:>8} {:>8.2f} {:>12} {:>10.6f}  {:>9} {:>9} {:>9} {:>9}\n", name,
                       width, q.mistakes, q.mistakes_per_hour,
                       q.mistakes ? FormatMs(q.mistake_mean_ms) : "-", q.query_accuracy,
                       FormatMs(q.detection_mean_ms), FormatMs(q.detection_p50_ms),
                       FormatMs(q.detection_p99_ms), FormatMs(q.detection_max_ms));
  }
  out << fmt::format("replayed at {:.1f} M heartbeats/s\n", heartbeats_per_second / 1e6);
}

}  // namespace

int CmdReplay(const ReplayRequest& r, std::ostream& out, std::ostream& err) {
  const auto loaded = LoadTraceForCommand(r.trace, r.interval, err, "replay");
  if (!loaded) return kExitError;
  std::vector<std::string> names = r.detectors;
  if (names.empty()) names.emplace_back(kDefaultDetector);
  if (!r.suspect_out.empty() && names.size() != 1) {
    err << "vigilctl replay: --suspect-out takes exactly one --detector, found " << names.size()
        << "\n";
    return kExitError;
  }
  std::vector<DetectorSpec> specs;
  for (const auto& n : names) {
    auto parsed = ParseDetectorSpec(n);
    if (!parsed) {
      err << "vigilctl replay: " << parsed.message() << "\n";
      return kExitError;
    }
    specs.push_back(*parsed);
  }
  const Trace& trace = loaded->trace;
  std::vector<Replayed> results;
  double replay_seconds = 0;
  for (const auto& spec : specs) {
    const auto started = std::chrono::steady_clock::now();
    const std::vector<double> s = Replay(trace, spec.options, loaded->interval);
    replay_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!r.suspect_out.empty() && !WriteSuspectOut(r.suspect_out, trace, s, err)) {
      return kExitError;
    }
    results.push_back({spec.text, ScoreQos(trace, s)});
  }
  if (r.json) {
    PrintJson(r, *loaded, results, out);
    return kExitOk;
  }
  const double rate = replay_seconds > 0
                          ? static_cast<double>(trace.rows.size() * specs.size()) / replay_seconds
                          : 0;
  PrintTable(r, *loaded, results, rate, out);
  return kExitOk;
}

}  // namespace vigil
