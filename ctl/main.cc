// vigilctl: the operator's command line for vigild.
#include <boost/program_options.hpp>

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "config/duration.h"
#include "ctl/commands.h"
#include "ctl/quality_commands.h"

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage = R"(Usage: vigilctl [OPTIONS] COMMAND [ARGS]

Commands:
  status                      every peer: address, state, phi, last seen, since
  get PEER                    one peer in detail
  is-up PEER                  exit 0 if PEER is up, 1 if not, 2 on error
  wait PEER --state STATE     block until PEER is in STATE (up, down, suspect, left,
       [--timeout 30s]        unknown); exit 1 on timeout; rides out vigild restarts
  watch [--since ID]          print each state change as it happens (Ctrl-C to stop);
       [--timeout DURATION]   reconnects when vigild restarts, forever unless --timeout
                              bounds how long one outage may last (then exit 2)
  metrics                     the Prometheus metrics
  check-config FILE           validate a configuration file without a daemon
  keygen [--output FILE]      a new random key for security.keyring (base64, 32 bytes)
  replay TRACE [--detector SPEC ...] [--suspect-out FILE]
                              replay a heartbeat trace through detectors and print the
                              QoS figures (mistakes, P_A, detection time); no daemon needed
  tune TRACE --max-mistakes-per-hour R [--holdout 0.3] [--plot FILE]
                              sweep every detector's knobs, pick the fastest within the
                              budget, check it on the held-out rest, print the YAML

A detector SPEC is KIND[:key=value,...] with the keys of vigil.yaml's detector section,
e.g. adaptive, phi:threshold=8,acceptable_heartbeat_pause=3s, timeout:timeout=500ms.
Traces and figures: docs/tuning.md.

)";

}  // namespace

int main(int argc, char** argv) {
  vigil::CtlOptions o;
  const char* env_socket = std::getenv("VIGIL_SOCKET");
  o.socket = env_socket ? env_socket : "/run/vigil/vigil.sock";
  std::string command;
  std::vector<std::string> args;
  std::string state;
  std::string timeout_text = "30s";
  std::string since;
  std::string output;
  std::vector<std::string> detectors;
  std::string interval_text;
  std::string suspect_out;
  std::string plot;
  double max_mistakes = 0;
  double holdout = 0.3;

  po::options_description options("Options");
  options.add_options()
      ("socket,s", po::value(&o.socket)->value_name("PATH"),
       "the daemon's API socket (default $VIGIL_SOCKET or /run/vigil/vigil.sock)")
      ("json,j", po::bool_switch(&o.json), "print JSON instead of text")
      ("quiet,q", po::bool_switch(&o.quiet), "print nothing; only the exit code tells")
      ("state", po::value(&state)->value_name("STATE"), "wait: the state to wait for")
      ("timeout", po::value(&timeout_text)->value_name("DURATION"),
       "wait: give up after this long (default 30s); watch: give up when vigild has been "
       "unreachable this long (default: never)")
      ("since", po::value(&since)->value_name("ID"),
       "watch: first replay the events after this event id")
      ("output,o", po::value(&output)->value_name("FILE"),
       "keygen: write the key to FILE (created with mode 0600, never overwritten)")
      ("detector", po::value(&detectors)->value_name("SPEC"),
       "replay: a detector to replay (repeatable; default: adaptive)")
      ("interval", po::value(&interval_text)->value_name("DURATION"),
       "replay, tune: the trace's heartbeat interval (default: inferred)")
      ("suspect-out", po::value(&suspect_out)->value_name("FILE"),
       "replay: write seq,suspect_at_ms for every heartbeat")
      ("max-mistakes-per-hour", po::value(&max_mistakes)->value_name("R"),
       "tune: the budget of wrong suspicions per hour")
      ("holdout", po::value(&holdout)->value_name("FRACTION"),
       "tune: the last part of the trace kept for checking (default 0.3)")
      ("plot", po::value(&plot)->value_name("FILE"),
       "tune: where to write the SVG plot (default TRACE.tune.svg)")
      ("version", "print the version and exit")
      ("help,h", "print this help and exit");
  po::options_description hidden;
  hidden.add_options()("command", po::value(&command))("args", po::value(&args));
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "vigilctl: " << e.what() << "\nTry 'vigilctl --help'.\n";
    return vigil::kExitError;
  }
  if (vm.count("help")) {
    std::cout << kUsage << options;
    return vigil::kExitOk;
  }
  if (vm.count("version")) {
    std::cout << "vigilctl 0.1.0\n";
    return vigil::kExitOk;
  }
  auto need_args = [&](std::size_t n, const char* what) {
    if (args.size() == n) return true;
    std::cerr << "vigilctl " << command << ": expected " << what << "\nTry 'vigilctl --help'.\n";
    return false;
  };

  if (command.empty()) {
    std::cerr << kUsage;
    return vigil::kExitError;
  }
  if (command == "status") {
    if (!need_args(0, "no arguments")) return vigil::kExitError;
    return vigil::CmdStatus(o, std::cout, std::cerr);
  }
  if (command == "get") {
    if (!need_args(1, "one PEER")) return vigil::kExitError;
    return vigil::CmdGet(o, args[0], std::cout, std::cerr);
  }
  if (command == "is-up") {
    if (!need_args(1, "one PEER")) return vigil::kExitError;
    return vigil::CmdIsUp(o, args[0], std::cout, std::cerr);
  }
  if (command == "wait") {
    if (!need_args(1, "one PEER")) return vigil::kExitError;
    if (state.empty()) {
      std::cerr << "vigilctl wait: --state is required (up, down, suspect, left, unknown)\n";
      return vigil::kExitError;
    }
    const auto timeout = vigil::ParseDuration(timeout_text);
    if (!timeout || *timeout <= vigil::Duration::zero()) {
      std::cerr << "vigilctl wait: --timeout must be a duration such as 30s, found '"
                << timeout_text << "'\n";
      return vigil::kExitError;
    }
    return vigil::CmdWait(o, args[0], state,
                          std::chrono::duration_cast<std::chrono::milliseconds>(*timeout),
                          std::cout, std::cerr);
  }
  if (command == "watch") {
    if (!need_args(0, "no arguments")) return vigil::kExitError;
    std::optional<std::chrono::milliseconds> max_outage;
    if (vm.count("timeout")) {
      const auto timeout = vigil::ParseDuration(timeout_text);
      if (!timeout || *timeout <= vigil::Duration::zero()) {
        std::cerr << "vigilctl watch: --timeout must be a duration such as 30s, found '"
                  << timeout_text << "'\n";
        return vigil::kExitError;
      }
      max_outage = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
    }
    return vigil::CmdWatch(o, since.empty() ? std::nullopt : std::optional(since), max_outage,
                           std::cout, std::cerr);
  }
  if (command == "metrics") {
    if (!need_args(0, "no arguments")) return vigil::kExitError;
    return vigil::CmdMetrics(o, std::cout, std::cerr);
  }
  if (command == "check-config") {
    if (!need_args(1, "one FILE")) return vigil::kExitError;
    return vigil::CmdCheckConfig(o, args[0], std::cout, std::cerr);
  }
  if (command == "keygen") {
    if (!need_args(0, "no arguments")) return vigil::kExitError;
    return vigil::CmdKeygen(output, std::cout, std::cerr);
  }
  std::optional<vigil::Duration> interval;
  if (!interval_text.empty()) {
    interval = vigil::ParseDuration(interval_text);
    if (!interval || *interval <= vigil::Duration::zero()) {
      std::cerr << "vigilctl " << command << ": --interval must be a duration such as 100ms, found '"
                << interval_text << "'\n";
      return vigil::kExitError;
    }
  }
  if (command == "replay") {
    if (!need_args(1, "one TRACE file")) return vigil::kExitError;
    return vigil::CmdReplay({args[0], detectors, interval, suspect_out, o.json}, std::cout,
                            std::cerr);
  }
  if (command == "tune") {
    if (!need_args(1, "one TRACE file")) return vigil::kExitError;
    if (!vm.count("max-mistakes-per-hour")) {
      std::cerr << "vigilctl tune: --max-mistakes-per-hour is required (e.g. 1)\n";
      return vigil::kExitError;
    }
    // Progress only on a terminal: logs, pipes and --json consumers get none.
    return vigil::CmdTune({args[0], max_mistakes, holdout, interval, plot, o.json,
                           ::isatty(STDERR_FILENO) == 1},
                          std::cout, std::cerr);
  }
  std::cerr << "vigilctl: unknown command '" << command << "'\nTry 'vigilctl --help'.\n";
  return vigil::kExitError;
}
