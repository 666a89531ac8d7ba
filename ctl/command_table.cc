// The tables behind vigilctl: every command and option, declared once (command_table.h).
#include "ctl/command_table.h"

#include <unistd.h>

#include <limits>
#include <iostream>

#include "base/duration.h"
#include "base/value_text.h"
#include "ctl/quality_commands.h"

namespace vigil {

namespace {

constexpr OptionSpec kGlobalOptions[] = {
    {"socket", 's', "PATH", false,
     "the daemon's API socket (default $VIGIL_SOCKET or /run/vigil/vigil.sock)"},
    {"json", 'j', "", false, "print JSON instead of text"},
    {"quiet", 'q', "", false, "print nothing; only the exit code tells"},
    {"help", 'h', "", false, "print help (with a command: that command's) and exit"},
    {"version", 0, "", false, "print the version and exit"},
};

constexpr OptionSpec kCommandOptions[] = {
    {"state", 0, "STATE", false, "the state to wait for: up, down, suspect, left, unknown"},
    {"timeout", 0, "DURATION", false, "give up after this long"},
    {"since", 0, "ID", false, "first replay the events after this event id"},
    {"output", 'o', "FILE", false, "write to FILE (created with mode 0600, never overwritten)"},
    {"detector", 0, "SPEC", true, "a detector to replay (repeatable; default: adaptive)"},
    {"interval", 0, "DURATION", false, "the trace's heartbeat interval (default: inferred)"},
    {"suspect-out", 0, "FILE", false, "write seq,suspect_at_ms for every heartbeat"},
    {"max-mistakes-per-hour", 0, "R", false, "the budget of wrong suspicions per hour"},
    {"holdout", 0, "FRACTION", false,
     "the last part of the trace kept for checking (default 0.3)"},
    {"plot", 0, "FILE", false, "where to write the SVG plot (default TRACE.tune.svg)"},
};

// A positive duration option, or nullopt after saying what is wrong.
std::optional<Duration> PositiveDuration(const CommandLine& c, std::string_view option,
                                         const std::string& text, std::ostream& err) {
  const auto d = ParseDuration(text);
  if (!d || *d <= Duration::zero()) {
    err << "vigilctl " << c.command << ": --" << option
        << " must be a duration such as 30s or 100ms, found '" << text << "'\n";
    return std::nullopt;
  }
  return *d;
}

// A number option (as vigil.yaml writes numbers), or nullopt after saying what is wrong.
std::optional<double> Number(const CommandLine& c, std::string_view option,
                             const std::string& text, std::ostream& err) {
  const double huge = std::numeric_limits<double>::max();
  const auto value = ParseNumberIn(text, -huge, huge, true);
  if (!value) {
    err << "vigilctl " << c.command << ": --" << option << " must be a number, found '"
        << text << "'\n";
    return std::nullopt;
  }
  return *value;
}

std::chrono::milliseconds Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

int RunStatus(const CommandLine& c, std::ostream& out, std::ostream& err) {
  return CmdStatus(c.o, out, err);
}
int RunMembers(const CommandLine& c, std::ostream& out, std::ostream& err) {
  const std::string state = c.Value("state");
  if (c.Given("state") && state != "up" && state != "suspect" && state != "down" &&
      state != "left") {
    err << "vigilctl members: --state must be up, suspect, down or left, found '" << state
        << "'\n";
    return kExitError;
  }
  return CmdMembers(c.o, state, out, err);
}
int RunGet(const CommandLine& c, std::ostream& out, std::ostream& err) {
  return CmdGet(c.o, c.args[0], out, err);
}
int RunIsUp(const CommandLine& c, std::ostream& out, std::ostream& err) {
  return CmdIsUp(c.o, c.args[0], out, err);
}
int RunMetrics(const CommandLine& c, std::ostream& out, std::ostream& err) {
  return CmdMetrics(c.o, out, err);
}
int RunCheckConfig(const CommandLine& c, std::ostream& out, std::ostream& err) {
  return CmdCheckConfig(c.o, c.args[0], out, err);
}
int RunKeygen(const CommandLine& c, std::ostream& out, std::ostream& err) {
  return CmdKeygen(c.Value("output"), out, err);
}

int RunWait(const CommandLine& c, std::ostream& out, std::ostream& err) {
  if (!c.Given("state")) {
    err << "vigilctl wait: --state is required (up, down, suspect, left, unknown)\n";
    return kExitError;
  }
  const auto timeout = PositiveDuration(c, "timeout", c.Value("timeout", "30s"), err);
  if (!timeout) return kExitError;
  return CmdWait(c.o, c.args[0], c.Value("state"), Millis(*timeout), out, err);
}

int RunWatch(const CommandLine& c, std::ostream& out, std::ostream& err) {
  // Without --timeout, watch rides out outages of any length (it is usually left running).
  std::optional<std::chrono::milliseconds> max_outage;
  if (c.Given("timeout")) {
    const auto d = PositiveDuration(c, "timeout", c.Value("timeout"), err);
    if (!d) return kExitError;
    max_outage = Millis(*d);
  }
  std::optional<std::string> since;
  if (!c.Value("since").empty()) since = c.Value("since");  // --since "": as if not given
  return CmdWatch(c.o, since, max_outage, out, err);
}

// --interval of replay and tune; false after saying what is wrong.
bool TraceInterval(const CommandLine& c, std::optional<Duration>* interval, std::ostream& err) {
  if (!c.Given("interval")) return true;
  *interval = PositiveDuration(c, "interval", c.Value("interval"), err);
  return interval->has_value();
}

int RunReplay(const CommandLine& c, std::ostream& out, std::ostream& err) {
  std::optional<Duration> interval;
  if (!TraceInterval(c, &interval, err)) return kExitError;
  return CmdReplay({c.args[0], c.Values("detector"), interval, c.Value("suspect-out"), c.o.json},
                   out, err);
}

int RunTune(const CommandLine& c, std::ostream& out, std::ostream& err) {
  std::optional<Duration> interval;
  if (!TraceInterval(c, &interval, err)) return kExitError;
  if (!c.Given("max-mistakes-per-hour")) {
    err << "vigilctl tune: --max-mistakes-per-hour is required (e.g. 1)\n";
    return kExitError;
  }
  const auto budget = Number(c, "max-mistakes-per-hour", c.Value("max-mistakes-per-hour"), err);
  const auto holdout = Number(c, "holdout", c.Value("holdout", "0.3"), err);
  if (!budget || !holdout) return kExitError;
  // Progress only on a terminal: logs, pipes and --json consumers get none.
  return CmdTune({c.args[0], *budget, *holdout, interval, c.Value("plot"), c.o.json,
                  ::isatty(STDERR_FILENO) == 1},
                 out, err);
}

int RunHelp(const CommandLine& c, std::ostream& out, std::ostream& err) {
  if (c.args.empty()) {
    out << UsageText();
    return kExitOk;
  }
  if (const CommandSpec* command = FindCommand(c.args[0])) {
    out << CommandHelp(*command);
    return kExitOk;
  }
  err << "vigilctl help: no command '" << c.args[0] << "'\nTry 'vigilctl --help'.\n";
  return kExitError;
}

int RunCompletion(const CommandLine& c, std::ostream& out, std::ostream& err) {
  if (c.args[0] != "bash") {
    err << "vigilctl completion: only 'bash' is supported, found '" << c.args[0] << "'\n";
    return kExitError;
  }
  out << BashCompletion();
  return kExitOk;
}

}  // namespace

std::span<const OptionSpec> GlobalOptions() { return kGlobalOptions; }
std::span<const OptionSpec> CommandOptions() { return kCommandOptions; }

std::span<const CommandSpec> Commands() {
  static const std::vector<CommandSpec> commands = {
      {"status", "", 0, 0, "every peer: address, state, phi, last seen, since",
       "Prints every peer vigild watches: address, state, suspicion level, when it was last "
       "heard and since when it is in its state. On a cluster member, a line about its view "
       "of the cluster first (as 'members' prints it).",
       {}, RunStatus},
      {"members", "", 0, 0, "a cluster member's view: every member, state, provenance, since",
       "Prints the cluster as this node sees it (cluster.seeds): a line with the counts and "
       "the share of the cluster this node holds (whether it is a majority), then every "
       "member it holds (up, or suspect while its observers' reports add up) and every one "
       "taken out that it remembers (down, or left if it said it was leaving), by id, with "
       "address, how this node knows (provenance), last heartbeat it took and since. Exit 1 "
       "if this vigild is not a cluster member.",
       {{"state", "only the members in this state: up, suspect, down, left"}}, RunMembers},
      {"get", "PEER", 1, 1, "one peer in detail",
       "Prints everything vigild knows about PEER. Exit 1 if vigild does not watch it.", {},
       RunGet},
      {"is-up", "PEER", 1, 1, "exit 0 if PEER is up, 1 if not, 2 on error",
       "Prints PEER's state; the exit status says whether it is up (0) or not (1).", {},
       RunIsUp},
      {"wait", "PEER", 1, 1, "block until PEER is in a state (--state); rides out restarts",
       "Blocks until PEER is in STATE. Exit 0 when it is, 1 when --timeout passes first. "
       "Rides out restarts of vigild.",
       {{"state", ""}, {"timeout", "give up after this long (default 30s)"}}, RunWait},
      {"watch", "", 0, 0, "print each state change as it happens; reconnects",
       "Prints each state change as it happens, until interrupted (Ctrl-C). Reconnects when "
       "vigild restarts, forever unless --timeout bounds how long one outage may last (then "
       "exit 2).",
       {{"since", ""}, {"timeout", "give up when vigild has been unreachable this long "
                                   "(default: never)"}},
       RunWatch},
      {"metrics", "", 0, 0, "the Prometheus metrics", "Prints vigild's Prometheus metrics.", {},
       RunMetrics},
      {"check-config", "FILE", 1, 1, "validate a configuration file without a daemon",
       "Checks FILE exactly as vigild checks it at start: every error with its line, then "
       "notes. Exit 0 valid, 1 invalid, 2 on a command-line error.",
       {}, RunCheckConfig},
      {"keygen", "", 0, 0, "a new random key for security.keyring (base64, 32 bytes)",
       "Prints a new random key for a keyring file, or writes it to --output.",
       {{"output", ""}}, RunKeygen},
      {"replay", "TRACE", 1, 1, "replay a heartbeat trace through detectors (QoS figures)",
       "Replays a heartbeat trace through detectors and prints the QoS figures (mistakes, "
       "P_A, detection time); no daemon needed. A detector SPEC is KIND[:key=value,...] with "
       "the keys of vigil.yaml's detector section, e.g. adaptive, "
       "phi:threshold=8,acceptable_heartbeat_pause=3s, timeout:timeout=500ms.",
       {{"detector", ""}, {"interval", ""}, {"suspect-out", ""}}, RunReplay},
      {"tune", "TRACE", 1, 1, "pick the fastest detector settings within a mistake budget",
       "Sweeps every detector's knobs, picks the fastest within the budget, checks it on the "
       "held-out rest and prints the YAML; refuses a trace too short to show the budget (each "
       "part needs 3/R hours). Exit 0 advice, 1 none held, 2 error.",
       {{"max-mistakes-per-hour", ""}, {"holdout", ""}, {"interval", ""}, {"plot", ""}},
       RunTune},
      {"help", "[COMMAND]", 0, 1, "this help, or a command's", "Prints the help of COMMAND, "
       "or the list of commands.", {}, RunHelp},
      {"completion", "bash", 1, 1, "a bash completion script",
       "Prints a bash completion script: source it, or install it as "
       "/usr/share/bash-completion/completions/vigilctl.",
       {}, RunCompletion},
  };
  return commands;
}

}  // namespace vigil
