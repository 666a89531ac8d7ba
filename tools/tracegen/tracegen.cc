// vigil-tracegen: writes a generated heartbeat trace (docs/tuning.md format) to stdout.
//
//   vigil-tracegen --scenario lan|wan|bursty|stalls|regimes [--interval 100ms] [--length 1h]
//                  [--seed 1]
#include <cstdio>
#include <iostream>
#include <string>

#include <boost/program_options.hpp>

#include "base/duration.h"
#include "quality/trace_generator.h"
#include "tools/tool_options.h"

namespace po = boost::program_options;
using namespace vigil;

int main(int argc, char** argv) {
  std::string scenario_name, interval_text = "100ms", length_text = "1h";
  std::uint64_t seed = 1;
  po::options_description desc(
      "vigil-tracegen: a seeded heartbeat trace (seq,send_ms,recv_ms) on stdout");
  desc.add_options()("help,h", "this help")(
      "scenario", po::value(&scenario_name)->required(), "lan, wan, bursty, stalls or regimes")(
      "interval", po::value(&interval_text), "heartbeat interval (default 100ms)")(
      "length", po::value(&length_text), "trace length (default 1h)")(
      "seed", po::value(&seed), "random seed (default 1)");
  if (const auto exit_status = vigil::ParseToolOptions(argc, argv, desc, "vigil-tracegen")) {
    return *exit_status;
  }
  const auto scenario = ParseTraceScenario(scenario_name);
  if (!scenario) {
    std::fprintf(stderr, "vigil-tracegen: --scenario: expected lan, wan, bursty, stalls or regimes, found '%s'\n",
                 scenario_name.c_str());
    return 2;
  }
  TraceGeneratorOptions o;
  o.scenario = *scenario;
  o.seed = seed;
  const auto interval = ParseDuration(interval_text);
  const auto length = ParseDuration(length_text);
  if (!interval || *interval <= Duration::zero()) {
    std::fprintf(stderr, "vigil-tracegen: --interval: expected a duration such as 100ms, found '%s'\n",
                 interval_text.c_str());
    return 2;
  }
  if (!length || *length <= Duration::zero()) {
    std::fprintf(stderr, "vigil-tracegen: --length: expected a duration such as 1h, found '%s'\n",
                 length_text.c_str());
    return 2;
  }
  o.interval = *interval;
  o.length = *length;
  std::ios::sync_with_stdio(false);
  WriteTrace(std::cout, GenerateTrace(o));
  return std::cout.good() ? 0 : 1;
}
