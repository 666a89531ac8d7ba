// The detection-quality table of docs/detectors.md: every generator scenario at 100 ms and
// 1 s, replayed through vigil's default detector and the published configurations, next to
// the fixed timeout chosen in hindsight at the same mistake budget.
//
//   vigil_quality_table [--hours H] [--seeds N] [--budget R] [--detector SPEC ...] [--tuned]
//
// Prints a Markdown table: mistakes per hour and mean detection time per detector, and the
// default's mean detection time as a multiple of the hindsight-best timeout's. With --tuned,
// also the adaptive detector tuned in hindsight on the same footing as that timeout: per
// trace, the fastest setting of `vigilctl tune`'s grid within the budget.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "quality/replay.h"
#include "quality/trace_generator.h"

using namespace vigil;

int main(int argc, char** argv) {
  double hours = 6;
  int seeds = 1;
  double budget = 1.0;
  std::vector<std::string> specs;
  bool tuned = false;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--tuned") {
      tuned = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", flag.c_str());
      return 2;
    }
    if (flag == "--hours") hours = std::atof(argv[i + 1]);
    else if (flag == "--seeds") seeds = std::atoi(argv[i + 1]);
    else if (flag == "--budget") budget = std::atof(argv[i + 1]);
    else if (flag == "--detector") specs.emplace_back(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (specs.empty()) {
    specs = {"adaptive", "phi:threshold=8,acceptable_heartbeat_pause=3s", "phi:threshold=8",
             "phi-exponential:threshold=8"};
  }
  fmt::print("| scenario | interval |");
  for (const auto& s : specs) fmt::print(" {} |", s);
  fmt::print(" best fixed timeout @{}/h | default T_D / best |", budget);
  if (tuned) fmt::print(" tuned adaptive @{}/h | tuned T_D / best |", budget);
  fmt::print("\n|---|---|");
  for (std::size_t i = 0; i < specs.size() + (tuned ? 4 : 2); ++i) fmt::print("---|");
  fmt::print("\n");
  const auto started = std::chrono::steady_clock::now();
  std::size_t replayed = 0;
  for (auto scenario : AllTraceScenarios()) {
    for (auto interval : {std::chrono::milliseconds(100), std::chrono::milliseconds(1000)}) {
      std::vector<double> rate(specs.size()), td(specs.size());
      double best_rate = 0, best_td = 0, tuned_rate = 0, tuned_td = 0;
      for (int seed = 1; seed <= seeds; ++seed) {
        TraceGeneratorOptions g;
        g.scenario = scenario;
        g.interval = interval;
        g.length = std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::ratio<3600>>(hours));
        g.seed = static_cast<std::uint64_t>(seed);
        const Trace trace = GenerateTrace(g);
        for (std::size_t i = 0; i < specs.size(); ++i) {
          auto spec = ParseDetectorSpec(specs[i], interval);
          if (!spec.spec) {
            std::fprintf(stderr, "%s\n", spec.error.c_str());
            return 2;
          }
          const auto q = ScoreQos(trace, Replay(trace, spec.spec->options, interval));
          replayed += trace.rows.size();
          rate[i] += q.mistakes_per_hour / seeds;
          td[i] += q.detection_mean_ms / seeds;
        }
        const Duration best = HindsightBestTimeout(trace, budget);
        DetectorOptions t;
        t.kind = DetectorKind::kTimeout;
        t.timeout = best;
        const auto q = ScoreQos(trace, Replay(trace, t, interval));
        best_rate += q.mistakes_per_hour / seeds;
        best_td += q.detection_mean_ms / seeds;
        if (tuned) {
          QosFigures chosen;
          bool found = false;
          for (const auto& setting : AdaptiveTuningGrid()) {
            const auto spec = ParseDetectorSpec(setting.Spec(), interval);
            if (!spec.spec) {
              std::fprintf(stderr, "%s\n", spec.error.c_str());
              return 2;
            }
            const auto a = ScoreQos(trace, Replay(trace, spec.spec->options, interval));
            replayed += trace.rows.size();
            const bool faster = !found || a.detection_mean_ms < chosen.detection_mean_ms;
            if (a.mistakes_per_hour <= budget && faster) {
              chosen = a;
              found = true;
            }
          }
          tuned_rate += (found ? chosen.mistakes_per_hour : 0) / seeds;
          tuned_td += (found ? chosen.detection_mean_ms : 0) / seeds;
        }
      }
      fmt::print("| {} | {} ms |", TraceScenarioName(scenario), interval.count());
      for (std::size_t i = 0; i < specs.size(); ++i) {
        fmt::print(" {:.2f}/h, {:.0f} ms |", rate[i], td[i]);
      }
      fmt::print(" {:.2f}/h, {:.0f} ms | {:.2f} |", best_rate, best_td, td[0] / best_td);
      if (tuned) {
        fmt::print(" {:.2f}/h, {:.0f} ms | {:.2f} |", tuned_rate, tuned_td, tuned_td / best_td);
      }
      fmt::print("\n");
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fmt::print("\n{} heartbeats generated and replayed in {:.1f} s ({:.2f} M heartbeats/s including "
             "generation)\n", replayed, secs, static_cast<double>(replayed) / secs / 1e6);
  return 0;
}
