#include "ctl/trace_input.h"

#include <cmath>
#include <ostream>

#include <fmt/format.h>

namespace vigil {

namespace json = boost::json;

std::optional<LoadedTrace> LoadTraceForCommand(const std::string& path,
                                               std::optional<Duration> interval,
                                               std::ostream& err, const char* cmd) {
  TraceResult t = LoadTraceFile(path);
  if (!t.trace) {
    err << "vigilctl " << cmd << ": " << t.error << "\n";
    return std::nullopt;
  }
  if (t.trace->rows.size() < 2) {
    err << "vigilctl " << cmd << ": " << path << ": needs at least two heartbeats, found "
        << t.trace->rows.size() << "\n";
    return std::nullopt;
  }
  LoadedTrace l{std::move(*t.trace), {}, false};
  if (interval) {
    l.interval = *interval;
  } else if (auto inferred = InferInterval(l.trace)) {
    l.interval = *inferred;
    l.inferred = true;
  } else {
    err << "vigilctl " << cmd << ": " << path
        << ": cannot infer the heartbeat interval (no two heartbeats with increasing seq); "
           "pass --interval\n";
    return std::nullopt;
  }
  return l;
}

json::value JsonNumber(double x) {
  if (!std::isfinite(x)) return nullptr;
  return json::value(std::round(x * 1000.0) / 1000.0);
}

json::object QosJson(const QosFigures& q) {
  json::object o;
  o["heartbeats"] = q.heartbeats;
  o["observed_hours"] = JsonNumber(q.observed_hours);
  o["mistakes"] = q.mistakes;
  o["mistakes_per_hour"] = JsonNumber(q.mistakes_per_hour);
  o["mistake_mean_ms"] = JsonNumber(q.mistake_mean_ms);
  o["query_accuracy"] = json::value(q.query_accuracy);
  o["detection_mean_ms"] = JsonNumber(q.detection_mean_ms);
  o["detection_p50_ms"] = JsonNumber(q.detection_p50_ms);
  o["detection_p99_ms"] = JsonNumber(q.detection_p99_ms);
  o["detection_max_ms"] = JsonNumber(q.detection_max_ms);
  o["never_detected"] = q.never_detected;
  o["detection_from"] = q.send_times_known ? "send" : "receive";
  return o;
}

std::string FormatMs(double ms) {
  if (!std::isfinite(ms)) return "never";
  if (ms >= 10'000) return fmt::format("{:.1f} s", ms / 1000);
  return fmt::format("{:.0f} ms", ms);
}

}  // namespace vigil
