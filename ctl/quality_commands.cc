#include "ctl/quality_commands.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <ostream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "config/duration.h"
#include "ctl/commands.h"
#include "quality/replay.h"

namespace vigil {

namespace json = boost::json;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr const char* kDefaultDetector = "adaptive";

// JSON has no infinity: "never" is null.
json::value Num(double x) {
  if (!std::isfinite(x)) return nullptr;
  return json::value(std::round(x * 1000.0) / 1000.0);
}

json::object QosJson(const QosFigures& q) {
  json::object o;
  o["heartbeats"] = q.heartbeats;
  o["observed_hours"] = Num(q.observed_hours);
  o["mistakes"] = q.mistakes;
  o["mistakes_per_hour"] = Num(q.mistakes_per_hour);
  o["mistake_mean_ms"] = Num(q.mistake_mean_ms);
  o["query_accuracy"] = json::value(q.query_accuracy);
  o["detection_mean_ms"] = Num(q.detection_mean_ms);
  o["detection_p50_ms"] = Num(q.detection_p50_ms);
  o["detection_p99_ms"] = Num(q.detection_p99_ms);
  o["detection_max_ms"] = Num(q.detection_max_ms);
  o["never_detected"] = q.never_detected;
  o["detection_from"] = q.send_times_known ? "send" : "receive";
  return o;
}

std::string Ms(double ms) {
  if (!std::isfinite(ms)) return "never";
  if (ms >= 10'000) return fmt::format("{:.1f} s", ms / 1000);
  return fmt::format("{:.0f} ms", ms);
}

struct Loaded {
  Trace trace;
  Duration interval{};
  bool inferred = false;
};

std::optional<Loaded> Load(const std::string& path, std::optional<Duration> interval,
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
  Loaded l{std::move(*t.trace), {}, false};
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

}  // namespace

int CmdReplay(const ReplayRequest& r, std::ostream& out, std::ostream& err) {
  const auto loaded = Load(r.trace, r.interval, err, "replay");
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
    auto parsed = ParseDetectorSpec(n, loaded->interval);
    if (!parsed.spec) {
      err << "vigilctl replay: " << parsed.error << "\n";
      return kExitError;
    }
    specs.push_back(*parsed.spec);
  }
  const Trace& trace = loaded->trace;
  json::array results;
  std::vector<std::pair<std::string, QosFigures>> figures;
  double replay_seconds = 0;
  for (const auto& spec : specs) {
    const auto started = std::chrono::steady_clock::now();
    const std::vector<double> s = Replay(trace, spec.options, loaded->interval);
    replay_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const QosFigures q = ScoreQos(trace, s);
    if (!r.suspect_out.empty()) {
      std::ofstream f(r.suspect_out, std::ios::trunc);
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
        err << "vigilctl replay: cannot write " << r.suspect_out << ": " << std::strerror(errno)
            << "\n";
        return kExitError;
      }
    }
    json::object o = QosJson(q);
    o["detector"] = spec.text;
    results.push_back(std::move(o));
    figures.emplace_back(spec.text, q);
  }
  if (r.json) {
    json::object o;
    o["trace"] = r.trace;
    o["interval_ms"] = ToMillis(loaded->interval);
    o["interval_inferred"] = loaded->inferred;
    o["results"] = std::move(results);
    out << json::serialize(o) << "\n";
    return kExitOk;
  }
  const QosFigures& first = figures.front().second;
  out << fmt::format("{}: {} heartbeats over {:.2f} h, interval {:.3f} ms ({}), detection time "
                     "from {} times\n",
                     r.trace, first.heartbeats, first.observed_hours,
                     ToMillis(loaded->interval), loaded->inferred ? "inferred" : "given",
                     first.send_times_known ? "send" : "receive");
  std::size_t width = 8;
  for (const auto& [name, q] : figures) width = std::max(width, name.size());
  out << fmt::format("{:<{}}  {:>8} {:>8} {:>12} {:>10}  {:>9} {:>9} {:>9} {:>9}\n", "detector",
                     width, "mistakes", "per hour", "mean mistake", "P_A", "T_D mean", "p50",
                     "p99", "max");
  for (const auto& [name, q] : figures) {
    out << fmt::format("{:<{}}  {:>8} {:>8.2f} {:>12} {:>10.6f}  {:>9} {:>9} {:>9} {:>9}\n", name,
                       width, q.mistakes, q.mistakes_per_hour,
                       q.mistakes ? Ms(q.mistake_mean_ms) : "-", q.query_accuracy,
                       Ms(q.detection_mean_ms), Ms(q.detection_p50_ms), Ms(q.detection_p99_ms),
                       Ms(q.detection_max_ms));
  }
  const double rate = replay_seconds > 0
                          ? static_cast<double>(trace.rows.size() * specs.size()) / replay_seconds
                          : 0;
  out << fmt::format("replayed at {:.1f} M heartbeats/s\n", rate / 1e6);
  return kExitOk;
}

namespace {

struct Candidate {
  std::string family;
  std::string spec;   // for --detector
  std::string yaml;   // the detector section
  QosFigures train;
  QosFigures test;
};

std::vector<Candidate> Sweep(Duration interval) {
  const double d = ToMillis(interval);
  // Whole milliseconds: settings an operator would write.
  auto ms = [](double x) {
    return FormatDuration(std::chrono::milliseconds(std::max<long long>(1, std::llround(x))));
  };
  std::vector<Candidate> c;
  std::string previous;
  for (double k = 1.05; k <= 120; k *= 1.12) {
    const std::string t = ms(k * d);
    if (t == previous) continue;
    previous = t;
    c.push_back({"timeout", "timeout:timeout=" + t,
                 fmt::format("detector:\n  kind: timeout\n  timeout: {}\n", t), {}, {}});
  }
  const double thresholds[] = {0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 30};
  const double pauses[] = {0, 1, 3, 10, 30};
  for (double th : thresholds) {
    for (double p : pauses) {
      const std::string pause = p == 0 ? "0s" : ms(p * d);
      c.push_back({"phi", fmt::format("phi:threshold={},acceptable_heartbeat_pause={}", th, pause),
                   fmt::format("detector:\n  kind: phi\n  threshold: {}\n"
                               "  acceptable_heartbeat_pause: {}\n",
                               th, pause),
                   {}, {}});
    }
    c.push_back({"phi-exponential", fmt::format("phi-exponential:threshold={}", th),
                 fmt::format("detector:\n  kind: phi-exponential\n  threshold: {}\n", th), {}, {}});
  }
  for (const auto& a : AdaptiveTuningGrid()) c.push_back({"adaptive", a.Spec(), a.Yaml(), {}, {}});
  return c;
}

// Mistake rates span decades and include 0: plotted on a log axis from kRateFloor.
constexpr double kRateFloor = 0.01;

void WriteSvg(std::ostream& f, const std::vector<Candidate>& all,
              const std::map<std::string, const Candidate*>& chosen, double budget,
              const std::string& title) {
  const double w = 760, h = 480, left = 80, right = 180, top = 40, bottom = 60;
  double xmax = budget * 10, ymin = kInf, ymax = 0;
  for (const auto& c : all) {
    xmax = std::max(xmax, c.train.mistakes_per_hour);
    if (std::isfinite(c.train.detection_mean_ms)) {
      ymin = std::min(ymin, c.train.detection_mean_ms);
      ymax = std::max(ymax, c.train.detection_mean_ms);
    }
  }
  if (!(ymax > ymin)) ymax = ymin + 1;
  const double lx0 = std::log10(kRateFloor), lx1 = std::log10(std::max(xmax, 1.0) * 1.5);
  const double ly0 = std::log10(std::max(1.0, ymin * 0.8)), ly1 = std::log10(ymax * 1.2);
  auto X = [&](double rate) {
    return left + (std::log10(std::max(rate, kRateFloor)) - lx0) / (lx1 - lx0) * (w - left - right);
  };
  auto Y = [&](double ms) {
    return top + (1 - (std::log10(ms) - ly0) / (ly1 - ly0)) * (h - top - bottom);
  };
  f << fmt::format(R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="12">)svg"
                   "\n", w, h);
  f << fmt::format(R"svg(<rect width="{}" height="{}" fill="white"/>)svg" "\n", w, h);
  f << fmt::format(R"svg(<text x="{}" y="22" font-size="14">{}</text>)svg" "\n", left, title);
  // Axes, ticks at decades.
  f << fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="black"/>)svg" "\n", left,
                   h - bottom, w - right);
  f << fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="black"/>)svg" "\n", left,
                   top, h - bottom);
  for (int e = static_cast<int>(std::ceil(lx0)); e <= static_cast<int>(std::floor(lx1)); ++e) {
    const double x = X(std::pow(10.0, e));
    f << fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#ddd"/><text x="{0}" y="{3}" text-anchor="middle">{4}</text>)svg" "\n",
                     x, top, h - bottom, h - bottom + 16, e == static_cast<int>(std::ceil(lx0)) ? "≤0.01" : fmt::format("{:g}", std::pow(10.0, e)));
  }
  for (double v = std::pow(10.0, std::floor(ly0)); v <= std::pow(10.0, ly1); v *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      const double y = v * m;
      if (std::log10(y) < ly0 || std::log10(y) > ly1) continue;
      f << fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#eee"/><text x="{3}" y="{4}" text-anchor="end">{5}</text>)svg" "\n",
                       left, Y(y), w - right, left - 6, Y(y) + 4, Ms(y));
    }
  }
  f << fmt::format(R"svg(<text x="{}" y="{}" text-anchor="middle">mistakes per hour (training part)</text>)svg" "\n",
                   (left + w - right) / 2, h - 20);
  f << fmt::format(R"svg(<text x="18" y="{0}" transform="rotate(-90 18 {0})" text-anchor="middle">mean detection time</text>)svg" "\n",
                   (top + h - bottom) / 2);
  // The budget.
  f << fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#888" stroke-dasharray="4 4"/><text x="{3}" y="{4}" fill="#555">budget {5}/h</text>)svg" "\n",
                   X(budget), top, h - bottom, X(budget) + 4, top + 12, budget);
  const std::map<std::string, const char*> colors = {{"adaptive", "#d62728"}, {"phi", "#1f77b4"},
                                                     {"phi-exponential", "#2ca02c"},
                                                     {"timeout", "#7f7f7f"}};
  int legend = 0;
  for (const auto& [family, color] : colors) {
    // The family's trade-off curve: for each setting, plotted as a point; the frontier (the
    // fastest setting at or below each mistake rate) joined by a line.
    std::vector<std::pair<double, double>> pts;
    for (const auto& c : all) {
      if (c.family != family || !std::isfinite(c.train.detection_mean_ms)) continue;
      pts.emplace_back(c.train.mistakes_per_hour, c.train.detection_mean_ms);
      f << fmt::format(R"svg(<circle cx="{:.1f}" cy="{:.1f}" r="2" fill="{}" opacity="0.35"/>)svg" "\n",
                       X(c.train.mistakes_per_hour), Y(c.train.detection_mean_ms), color);
    }
    std::sort(pts.begin(), pts.end());
    std::string path;
    double best = kInf;
    for (const auto& [x, y] : pts) {
      if (y < best) {
        best = y;
        path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L", X(x), Y(y));
      }
    }
    if (!path.empty()) {
      f << fmt::format(R"svg(<path d="{}" fill="none" stroke="{}" stroke-width="2"/>)svg" "\n", path, color);
    }
    if (auto it = chosen.find(family); it != chosen.end() && it->second != nullptr) {
      const Candidate& c = *it->second;
      f << fmt::format(R"svg(<circle cx="{:.1f}" cy="{:.1f}" r="6" fill="none" stroke="{}" stroke-width="2"/>)svg" "\n",
                       X(c.train.mistakes_per_hour), Y(c.train.detection_mean_ms), color);
    }
    const double ly = top + 20 + 36 * legend++;
    f << fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="{3}" stroke-width="2"/><text x="{4}" y="{5}">{6}</text>)svg" "\n",
                     w - right + 10, ly, w - right + 30, color, w - right + 36, ly + 4, family);
    if (auto it = chosen.find(family); it != chosen.end() && it->second != nullptr) {
      f << fmt::format(R"svg(<text x="{}" y="{}" fill="#555" font-size="10">chosen: {}</text>)svg" "\n",
                       w - right + 36, ly + 18, Ms(it->second->train.detection_mean_ms));
    }
  }
  f << "</svg>\n";
}

}  // namespace

int CmdTune(const TuneRequest& r, std::ostream& out, std::ostream& err) {
  if (!(r.max_mistakes_per_hour > 0)) {
    err << "vigilctl tune: --max-mistakes-per-hour must be above 0\n";
    return kExitError;
  }
  if (!(r.holdout > 0 && r.holdout < 1)) {
    err << "vigilctl tune: --holdout must be a fraction between 0 and 1 (exclusive), found "
        << r.holdout << "\n";
    return kExitError;
  }
  const auto loaded = Load(r.trace, r.interval, err, "tune");
  if (!loaded) return kExitError;
  const Trace& trace = loaded->trace;
  // Split by time: the first (1 - holdout) of the span trains, the rest checks.
  const double t0 = trace.rows.front().recv_ms, t1 = trace.rows.back().recv_ms;
  const double cut = t0 + (t1 - t0) * (1 - r.holdout);
  std::size_t split = 0;
  while (split < trace.rows.size() && trace.rows[split].recv_ms < cut) ++split;
  if (split < 2 || trace.rows.size() - split < 2) {
    err << "vigilctl tune: the trace is too short to hold out " << r.holdout << " of it\n";
    return kExitError;
  }
  std::vector<Candidate> all = Sweep(loaded->interval);
  for (auto& c : all) {
    auto spec = ParseDetectorSpec(c.spec, loaded->interval);
    if (!spec.spec) {
      err << "vigilctl tune: internal error: " << spec.error << "\n";
      return kExitError;
    }
    // Replayed whole, so the held-out part starts with a detector that has learned what it
    // would have learned in service; each part is scored on its own rows.
    const auto s = Replay(trace, spec.spec->options, loaded->interval);
    const std::span<const TraceRow> rows(trace.rows);
    const std::span<const double> at(s);
    c.train = ScoreQos(rows.first(split), at.first(split));
    c.test = ScoreQos(rows.subspan(split), at.subspan(split));
  }
  std::map<std::string, const Candidate*> chosen;
  for (const char* family : {"adaptive", "phi", "phi-exponential", "timeout"}) chosen[family] = nullptr;
  for (const auto& c : all) {
    if (c.train.mistakes_per_hour > r.max_mistakes_per_hour || c.train.never_detected > 0) continue;
    const Candidate*& best = chosen[c.family];
    if (best == nullptr || c.train.detection_mean_ms < best->train.detection_mean_ms) best = &c;
  }
  const Candidate* overall = nullptr;
  for (const auto& [family, c] : chosen) {
    if (c != nullptr && (overall == nullptr || c->train.detection_mean_ms < overall->train.detection_mean_ms)) {
      overall = c;
    }
  }
  const std::string plot = r.plot.empty() ? r.trace + ".tune.svg" : r.plot;
  {
    std::ofstream f(plot, std::ios::trunc);
    WriteSvg(f, all, chosen, r.max_mistakes_per_hour,
             fmt::format("{}: mean detection time vs mistakes per hour", r.trace));
    f.close();
    if (!f) {
      err << "vigilctl tune: cannot write " << plot << ": " << std::strerror(errno) << "\n";
      return kExitError;
    }
  }
  if (r.json) {
    json::object o;
    o["trace"] = r.trace;
    o["interval_ms"] = ToMillis(loaded->interval);
    o["budget_mistakes_per_hour"] = r.max_mistakes_per_hour;
    o["holdout"] = r.holdout;
    o["plot"] = plot;
    json::object families;
    for (const auto& [family, c] : chosen) {
      if (c == nullptr) {
        families[family] = nullptr;
        continue;
      }
      json::object f;
      f["detector"] = c->spec;
      f["train"] = QosJson(c->train);
      f["holdout"] = QosJson(c->test);
      families[family] = std::move(f);
    }
    o["chosen"] = std::move(families);
    o["best"] = overall ? json::value(overall->spec) : json::value(nullptr);
    o["yaml"] = overall ? json::value(overall->yaml) : json::value(nullptr);
    out << json::serialize(o) << "\n";
    return overall ? kExitOk : kExitNo;
  }
  out << fmt::format("{}: {} heartbeats, interval {:.3f} ms; trained on the first {:.0f} %, "
                     "checked on the last {:.0f} %; budget {} mistakes/h\n\n",
                     r.trace, trace.rows.size(), ToMillis(loaded->interval),
                     (1 - r.holdout) * 100, r.holdout * 100, r.max_mistakes_per_hour);
  std::size_t width = 33;
  for (const auto& [family, c] : chosen) {
    width = std::max(width, c ? c->spec.size() : family.size());
  }
  out << fmt::format("{:<{}} {:>20} {:>20}\n", "fastest within budget (training)", width,
                     "training: mist/h, T_D", "held out: mist/h, T_D");
  for (const auto& [family, c] : chosen) {
    if (c == nullptr) {
      out << fmt::format("{:<{}} {:>20}\n", family, width, "none within budget");
      continue;
    }
    out << fmt::format("{:<{}} {:>9.2f}, {:>8} {:>9.2f}, {:>8}\n", c->spec, width,
                       c->train.mistakes_per_hour, Ms(c->train.detection_mean_ms),
                       c->test.mistakes_per_hour, Ms(c->test.detection_mean_ms));
  }
  out << "\nplot: " << plot << "\n";
  if (overall == nullptr) {
    out << "no setting met the budget on the training part; raise --max-mistakes-per-hour\n";
    return kExitNo;
  }
  out << "\npaste into vigil.yaml (" << overall->spec << "):\n\n" << overall->yaml;
  if (overall->test.mistakes_per_hour > r.max_mistakes_per_hour) {
    out << fmt::format("\nnote: on the held-out part it made {:.2f} mistakes/h, above the budget: "
                       "the network changed, or the trace is too short to judge\n",
                       overall->test.mistakes_per_hour);
  }
  return kExitOk;
}

}  // namespace vigil
