// The detection-quality table of docs/detectors.md: every generator scenario at 100 ms and
// 1 s, replayed through vigil's default detector and the published configurations, next to
// the fixed timeout chosen in hindsight at the same mistake budget.
//
//   vigil_quality_table [--hours H] [--seeds N] [--budget R] [--detector SPEC ...] [--tuned]
//
// Prints a Markdown table: mistakes per hour and mean detection time per detector, and the
// default's mean detection time as a multiple of the hindsight-best timeout's. With --tuned,
// also the adaptive detector tuned in hindsight on the same footing as that timeout: per
// trace, the fastest setting of `vigilctl tune`'s grid within the budget, picked by the same
// Choose (quality/tune.h) with the whole trace as both the training and the held-out part.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "quality/replay.h"
#include "quality/trace_generator.h"
#include "quality/tune.h"

using namespace vigil;

namespace {

struct TableFlags {
  double hours = 6;
  int seeds = 1;
  double budget = 1.0;
  std::vector<std::string> specs;
  bool tuned = false;
};

// Nullopt after saying on stderr what is wrong.
std::optional<TableFlags> ParseFlags(int argc, char** argv) {
  TableFlags f;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--tuned") {
      f.tuned = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", flag.c_str());
      return std::nullopt;
    }
    if (flag == "--hours") f.hours = std::atof(argv[i + 1]);
    else if (flag == "--seeds") f.seeds = std::atoi(argv[i + 1]);
    else if (flag == "--budget") f.budget = std::atof(argv[i + 1]);
    else if (flag == "--detector") f.specs.emplace_back(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return std::nullopt;
    }
  }
  if (f.specs.empty()) {
    f.specs = {"adaptive", "phi:threshold=8,acceptable_heartbeat_pause=3s", "phi:threshold=8",
               "phi-exponential:threshold=8"};
  }
  return f;
}

void PrintHeader(const TableFlags& f) {
  fmt::print("| scenario | interval |");
  for (const auto& s : f.specs) fmt::print(" {} |", s);
  fmt::print(" best fixed timeout @{}/h | default T_D / best |", f.budget);
  if (f.tuned) fmt::print(" tuned adaptive @{}/h | tuned T_D / best |", f.budget);
  fmt::print("\n|---|---|");
  for (std::size_t i = 0; i < f.specs.size() + (f.tuned ? 4 : 2); ++i) fmt::print("---|");
  fmt::print("\n");
}

// One line of the table: the figures averaged over the seeds.
struct TableRow {
  std::vector<double> rate, td;         // per --detector
  double best_rate = 0, best_td = 0;    // the hindsight-best fixed timeout
  double tuned_rate = 0, tuned_td = 0;  // the tuned adaptive detector (--tuned)
};

// Replays `trace` through the detector `text` names. False after printing the spec's error.
bool ReplaySpec(const std::string& text, const Trace& trace, std::chrono::milliseconds interval,
                QosFigures* q) {
  auto spec = ParseDetectorSpec(text);
  if (!spec) {
    std::fprintf(stderr, "%s\n", spec.message().c_str());
    return false;
  }
  *q = ScoreQos(trace, Replay(trace, spec->options, interval));
  return true;
}

// The adaptive settings of vigilctl tune's grid, each scored on the whole trace, and the one
// Choose picks (*chosen empty: none within the budget). False after printing a spec's error.
bool TunedAdaptive(const Trace& trace, std::chrono::milliseconds interval, double budget,
                   std::optional<QosFigures>* chosen, std::size_t* replayed) {
  std::vector<Candidate> settings;
  for (auto& c : SweepGrid(interval)) {
    if (c.family == "adaptive") settings.push_back(std::move(c));
  }
  for (auto& c : settings) {
    if (!ReplaySpec(c.spec, trace, interval, &c.train)) return false;
    *replayed += trace.rows.size();
    c.test = c.train;  // hindsight: tuned and checked on the same trace
  }
  const Choice pick = Choose(settings, budget).families.at("adaptive");
  *chosen = std::nullopt;
  if (pick.candidate != nullptr) *chosen = pick.candidate->train;
  return true;
}

// Adds one seed's trace to `row`. False after printing a spec's error.
bool AddSeed(const TableFlags& f, const Trace& trace, std::chrono::milliseconds interval,
             TableRow* row, std::size_t* replayed) {
  for (std::size_t i = 0; i < f.specs.size(); ++i) {
    QosFigures q;
    if (!ReplaySpec(f.specs[i], trace, interval, &q)) return false;
    *replayed += trace.rows.size();
    row->rate[i] += q.mistakes_per_hour / f.seeds;
    row->td[i] += q.detection_mean_ms / f.seeds;
  }
  DetectorOptions t;
  t.set_kind(DetectorKind::kTimeout);
  std::get<TimeoutKnobs>(t.knobs).timeout = HindsightBestTimeout(trace, f.budget);
  const auto q = ScoreQos(trace, Replay(trace, t, interval));
  row->best_rate += q.mistakes_per_hour / f.seeds;
  row->best_td += q.detection_mean_ms / f.seeds;
  if (f.tuned) {
    std::optional<QosFigures> chosen;
    if (!TunedAdaptive(trace, interval, f.budget, &chosen, replayed)) return false;
    row->tuned_rate += (chosen ? chosen->mistakes_per_hour : 0) / f.seeds;
    row->tuned_td += (chosen ? chosen->detection_mean_ms : 0) / f.seeds;
  }
  return true;
}

void PrintRow(const TableFlags& f, TraceScenario scenario, std::chrono::milliseconds interval,
              const TableRow& row) {
  fmt::print("| {} | {} ms |", TraceScenarioName(scenario), interval.count());
  for (std::size_t i = 0; i < f.specs.size(); ++i) {
    fmt::print(" {:.2f}/h, {:.0f} ms |", row.rate[i], row.td[i]);
  }
  fmt::print(" {:.2f}/h, {:.0f} ms | {:.2f} |", row.best_rate, row.best_td,
             row.td[0] / row.best_td);
  if (f.tuned) {
    fmt::print(" {:.2f}/h, {:.0f} ms | {:.2f} |", row.tuned_rate, row.tuned_td,
               row.tuned_td / row.best_td);
  }
  fmt::print("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<TableFlags> flags = ParseFlags(argc, argv);
  if (!flags) return 2;
  PrintHeader(*flags);
  const auto started = std::chrono::steady_clock::now();
  std::size_t replayed = 0;
  for (auto scenario : AllTraceScenarios()) {
    for (auto interval : {std::chrono::milliseconds(100), std::chrono::milliseconds(1000)}) {
      TableRow row;
      row.rate.assign(flags->specs.size(), 0.0);
      row.td.assign(flags->specs.size(), 0.0);
      for (int seed = 1; seed <= flags->seeds; ++seed) {
        TraceGeneratorOptions g;
        g.scenario = scenario;
        g.interval = interval;
        g.length = std::chrono::duration_cast<Duration>(
            std::chrono::duration<double, std::ratio<3600>>(flags->hours));
        g.seed = static_cast<std::uint64_t>(seed);
        if (!AddSeed(*flags, GenerateTrace(g), interval, &row, &replayed)) return 2;
      }
      PrintRow(*flags, scenario, interval, row);
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fmt::print("\n{} heartbeats generated and replayed in {:.1f} s ({:.2f} M heartbeats/s including "
             "generation)\n",
             replayed, secs, static_cast<double>(replayed) / secs / 1e6);
  return 0;
}
