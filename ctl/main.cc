// vigilctl: the operator's command line for vigild.
#include <boost/program_options.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

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
                              budget, check it on the held-out rest, print the YAML;
                              refuses a trace too short to show the budget (each part
                              needs 3/R hours); exit 0 advice, 1 none held, 2 error

A detector SPEC is KIND[:key=value,...] with the keys of vigil.yaml's detector section,
e.g. adaptive, phi:threshold=8,acceptable_heartbeat_pause=3s, timeout:timeout=500ms.
Traces and figures: docs/tuning.md.

)";

// Everything the command line can say.
struct CommandLine {
  vigil::CtlOptions o;
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
  po::variables_map vm;

  bool Given(const char* option) const { return vm.count(option) > 0; }
  // True when there are `n` arguments; otherwise says what was expected.
  bool NeedArgs(std::size_t n, const char* what) const {
    if (args.size() == n) return true;
    std::cerr << "vigilctl " << command << ": expected " << what << "\nTry 'vigilctl --help'.\n";
    return false;
  }
};

po::options_description Options(CommandLine& c) {
  po::options_description options("Options");
  options.add_options()
      ("socket,s", po::value(&c.o.socket)->value_name("PATH"),
       "the daemon's API socket (default $VIGIL_SOCKET or /run/vigil/vigil.sock)")
      ("json,j", po::bool_switch(&c.o.json), "print JSON instead of text")
      ("quiet,q", po::bool_switch(&c.o.quiet), "print nothing; only the exit code tells")
      ("state", po::value(&c.state)->value_name("STATE"), "wait: the state to wait for")
      ("timeout", po::value(&c.timeout_text)->value_name("DURATION"),
       "wait: give up after this long (default 30s); watch: give up when vigild has been "
       "unreachable this long (default: never)")
      ("since", po::value(&c.since)->value_name("ID"),
       "watch: first replay the events after this event id")
      ("output,o", po::value(&c.output)->value_name("FILE"),
       "keygen: write the key to FILE (created with mode 0600, never overwritten)")
      ("detector", po::value(&c.detectors)->value_name("SPEC"),
       "replay: a detector to replay (repeatable; default: adaptive)")
      ("interval", po::value(&c.interval_text)->value_name("DURATION"),
       "replay, tune: the trace's heartbeat interval (default: inferred)")
      ("suspect-out", po::value(&c.suspect_out)->value_name("FILE"),
       "replay: write seq,suspect_at_ms for every heartbeat")
      ("max-mistakes-per-hour", po::value(&c.max_mistakes)->value_name("R"),
       "tune: the budget of wrong suspicions per hour")
      ("holdout", po::value(&c.holdout)->value_name("FRACTION"),
       "tune: the last part of the trace kept for checking (default 0.3)")
      ("plot", po::value(&c.plot)->value_name("FILE"),
       "tune: where to write the SVG plot (default TRACE.tune.svg)")
      ("version", "print the version and exit")
      ("help,h", "print this help and exit");
  return options;
}

// A positive duration option, or nullopt after saying what is wrong.
std::optional<std::chrono::milliseconds> PositiveDuration(const CommandLine& c,
                                                          const std::string& text,
                                                          const char* option,
                                                          const char* example) {
  const auto d = vigil::ParseDuration(text);
  if (!d || *d <= vigil::Duration::zero()) {
    std::cerr << "vigilctl " << c.command << ": " << option << " must be a duration such as "
              << example << ", found '" << text << "'\n";
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

int RunWait(const CommandLine& c) {
  if (!c.NeedArgs(1, "one PEER")) return vigil::kExitError;
  if (c.state.empty()) {
    std::cerr << "vigilctl wait: --state is required (up, down, suspect, left, unknown)\n";
    return vigil::kExitError;
  }
  const auto timeout = PositiveDuration(c, c.timeout_text, "--timeout", "30s");
  if (!timeout) return vigil::kExitError;
  return vigil::CmdWait(c.o, c.args[0], c.state, *timeout, std::cout, std::cerr);
}

int RunWatch(const CommandLine& c) {
  if (!c.NeedArgs(0, "no arguments")) return vigil::kExitError;
  // Without --timeout, watch rides out outages of any length (it is usually left running).
  std::optional<std::chrono::milliseconds> max_outage;
  if (c.Given("timeout")) {
    max_outage = PositiveDuration(c, c.timeout_text, "--timeout", "30s");
    if (!max_outage) return vigil::kExitError;
  }
  return vigil::CmdWatch(c.o, c.since.empty() ? std::nullopt : std::optional(c.since),
                         max_outage, std::cout, std::cerr);
}

// The commands that talk to vigild; nullopt for any other command.
std::optional<int> RunDaemonCommand(const CommandLine& c) {
  const std::string& cmd = c.command;
  if (cmd == "status") {
    if (!c.NeedArgs(0, "no arguments")) return vigil::kExitError;
    return vigil::CmdStatus(c.o, std::cout, std::cerr);
  }
  if (cmd == "get" || cmd == "is-up") {
    if (!c.NeedArgs(1, "one PEER")) return vigil::kExitError;
    return cmd == "get" ? vigil::CmdGet(c.o, c.args[0], std::cout, std::cerr)
                        : vigil::CmdIsUp(c.o, c.args[0], std::cout, std::cerr);
  }
  if (cmd == "wait") return RunWait(c);
  if (cmd == "watch") return RunWatch(c);
  if (cmd == "metrics") {
    if (!c.NeedArgs(0, "no arguments")) return vigil::kExitError;
    return vigil::CmdMetrics(c.o, std::cout, std::cerr);
  }
  return std::nullopt;
}

// replay and tune: traces, no daemon.
int RunTraceCommand(const CommandLine& c) {
  std::optional<vigil::Duration> interval;
  if (!c.interval_text.empty()) {
    const auto given = PositiveDuration(c, c.interval_text, "--interval", "100ms");
    if (!given) return vigil::kExitError;
    interval = *given;
  }
  if (c.command == "replay") {
    if (!c.NeedArgs(1, "one TRACE file")) return vigil::kExitError;
    return vigil::CmdReplay({c.args[0], c.detectors, interval, c.suspect_out, c.o.json},
                            std::cout, std::cerr);
  }
  if (!c.NeedArgs(1, "one TRACE file")) return vigil::kExitError;
  if (!c.Given("max-mistakes-per-hour")) {
    std::cerr << "vigilctl tune: --max-mistakes-per-hour is required (e.g. 1)\n";
    return vigil::kExitError;
  }
  // Progress only on a terminal: logs, pipes and --json consumers get none.
  return vigil::CmdTune({c.args[0], c.max_mistakes, c.holdout, interval, c.plot, c.o.json,
                         ::isatty(STDERR_FILENO) == 1},
                        std::cout, std::cerr);
}

int Run(const CommandLine& c) {
  if (c.command.empty()) {
    std::cerr << kUsage;
    return vigil::kExitError;
  }
  if (const auto code = RunDaemonCommand(c)) return *code;
  if (c.command == "check-config") {
    if (!c.NeedArgs(1, "one FILE")) return vigil::kExitError;
    return vigil::CmdCheckConfig(c.o, c.args[0], std::cout, std::cerr);
  }
  if (c.command == "keygen") {
    if (!c.NeedArgs(0, "no arguments")) return vigil::kExitError;
    return vigil::CmdKeygen(c.output, std::cout, std::cerr);
  }
  if (c.command == "replay" || c.command == "tune") return RunTraceCommand(c);
  std::cerr << "vigilctl: unknown command '" << c.command << "'\nTry 'vigilctl --help'.\n";
  return vigil::kExitError;
}

}  // namespace

int main(int argc, char** argv) {
  CommandLine c;
  const char* env_socket = std::getenv("VIGIL_SOCKET");
  c.o.socket = env_socket ? env_socket : "/run/vigil/vigil.sock";
  const po::options_description options = Options(c);
  po::options_description hidden;
  hidden.add_options()("command", po::value(&c.command))("args", po::value(&c.args));
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(),
              c.vm);
    po::notify(c.vm);
  } catch (const po::error& e) {
    std::cerr << "vigilctl: " << e.what() << "\nTry 'vigilctl --help'.\n";
    return vigil::kExitError;
  }
  if (c.Given("help")) {
    std::cout << kUsage << options;
    return vigil::kExitOk;
  }
  if (c.Given("version")) {
    std::cout << "vigilctl 0.1.0\n";
    return vigil::kExitOk;
  }
  return Run(c);
}
