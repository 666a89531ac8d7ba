// vigilctl's commands and options, each declared once. The usage text, each command's
// --help (and `vigilctl help CMD`), the did-you-mean for mistyped commands and options, the
// check that an option belongs to the command it is given to, and the bash completion are
// all generated from these tables (docs/vigilctl.md).
#pragma once

#include <boost/program_options/variables_map.hpp>

#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/commands.h"

namespace vigil {

struct OptionSpec {
  std::string_view name;        // long name, without "--"
  char short_name = 0;          // e.g. 's' for -s; 0: none
  std::string_view value_name;  // e.g. "PATH"; empty: a flag that takes no value
  bool repeatable = false;      // may be given more than once (values collect in order)
  std::string_view help;
};

// A command's use of an option, with help that says what it means for that command.
struct OptionUse {
  std::string_view name;
  std::string_view help;  // empty: the option's own help
};

// What the command line said, for a command to run with.
struct CommandLine {
  CtlOptions o;
  std::string command;
  std::vector<std::string> args;
  boost::program_options::variables_map vm;

  bool Given(std::string_view option) const { return vm.count(std::string(option)) > 0; }
  // The value of an option given once; `fallback` when not given.
  std::string Value(std::string_view option, std::string fallback = "") const;
  // Every value of a repeatable option, in order.
  std::vector<std::string> Values(std::string_view option) const;
};

struct CommandSpec {
  std::string_view name;
  std::string_view arguments;  // e.g. "PEER"; empty: none
  std::size_t min_args = 0;
  std::size_t max_args = 0;
  std::string_view summary;      // one line for the usage text
  std::string_view description;  // what --help adds below the synopsis
  std::vector<OptionUse> options;  // besides the global ones
  // Runs the command; arguments and options were checked against this spec already.
  int (*run)(const CommandLine& c, std::ostream& out, std::ostream& err) = nullptr;
};

// --socket, --json, --quiet, --help, --version: accepted with every command.
std::span<const OptionSpec> GlobalOptions();
// Every option some command takes.
std::span<const OptionSpec> CommandOptions();
std::span<const CommandSpec> Commands();
const CommandSpec* FindCommand(std::string_view name);
const OptionSpec* FindOption(std::string_view name);

// `vigilctl --help`: every command with its summary, and the global options.
std::string UsageText();
// `vigilctl CMD --help`: synopsis, description, the command's options and the global ones.
std::string CommandHelp(const CommandSpec& command);
// A bash completion script for vigilctl (`vigilctl completion bash`).
std::string BashCompletion();

// Parses argv, checks it against the tables and runs the command. Returns the exit status
// (kExitError, with a message on `err`, for anything the tables do not allow).
int RunVigilctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace vigil
