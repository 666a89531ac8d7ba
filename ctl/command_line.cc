// vigilctl's command line, generated from the tables of command_table.cc: parsing and its
// errors, help, and bash completion.
#include <boost/program_options.hpp>

#include <cstdlib>
#include <ostream>

#include <fmt/format.h>

#include "base/did_you_mean.h"
#include "ctl/command_table.h"

namespace vigil {

namespace po = boost::program_options;

namespace {

constexpr std::string_view kVersionText = "vigilctl " VIGIL_VERSION "\n";
constexpr std::string_view kDefaultSocket = "/run/vigil/vigil.sock";

bool IsGlobal(std::string_view name) {
  for (const auto& o : GlobalOptions()) {
    if (o.name == name) return true;
  }
  return false;
}

bool Uses(const CommandSpec& command, std::string_view option) {
  for (const auto& use : command.options) {
    if (use.name == option) return true;
  }
  return false;
}

// "--name VALUE, -n VALUE" as help shows it.
std::string Flags(const OptionSpec& o) {
  std::string text = fmt::format("--{}", o.name);
  if (!o.value_name.empty()) text += fmt::format(" {}", o.value_name);
  if (o.short_name) {
    text += fmt::format(", -{}", o.short_name);
    if (!o.value_name.empty()) text += fmt::format(" {}", o.value_name);
  }
  return text;
}

// `text` broken into lines of at most 80 columns; lines after the first indented by
// `indent` (the first continues whatever precedes it on its line, `first_column` wide).
std::string Wrap(std::string_view text, std::size_t first_column, std::size_t indent) {
  std::string out;
  std::size_t column = first_column;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (column > first_column && column + 1 + word.size() > 80) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (column > first_column || (first_column == indent && !out.empty())) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
  }
  return out;
}

void AppendOption(std::string& out, const OptionSpec& o, std::string_view help) {
  constexpr std::size_t kHelpColumn = 30;
  const std::string flags = fmt::format("  {:<{}} ", Flags(o), kHelpColumn - 3);
  out += flags + Wrap(help.empty() ? o.help : help, flags.size(), kHelpColumn) + "\n";
}

// Every option, for the parser: values as strings, checked by the command that uses them.
po::options_description ParserOptions() {
  po::options_description all;
  auto add = [&all](const OptionSpec& o) {
    const std::string name =
        o.short_name ? fmt::format("{},{}", o.name, o.short_name) : std::string(o.name);
    if (o.value_name.empty()) {
      all.add_options()(name.c_str(), std::string(o.help).c_str());
    } else if (o.repeatable) {
      all.add_options()(name.c_str(), po::value<std::vector<std::string>>(),
                        std::string(o.help).c_str());
    } else {
      all.add_options()(name.c_str(), po::value<std::string>(), std::string(o.help).c_str());
    }
  };
  for (const auto& o : GlobalOptions()) add(o);
  for (const auto& o : CommandOptions()) add(o);
  all.add_options()("command", po::value<std::string>())(
      "args", po::value<std::vector<std::string>>());
  return all;
}

std::vector<std::string_view> OptionNames() {
  std::vector<std::string_view> names;
  for (const auto& o : GlobalOptions()) names.push_back(o.name);
  for (const auto& o : CommandOptions()) names.push_back(o.name);
  return names;
}

// An option po does not know: named, with the closest real one.
void ReportUnknownOption(std::string given, std::ostream& err) {
  const auto start = given.find_first_not_of('-');
  const std::string bare = start == std::string::npos ? "" : given.substr(start);
  err << "vigilctl: unknown option '" << given << "'";
  const auto names = OptionNames();
  if (const auto near = DidYouMean(bare, names)) err << "; did you mean '--" << *near << "'?";
  err << "\nTry 'vigilctl --help'.\n";
}

// Checks the options and argument count against the command's spec; false after saying why.
bool CheckAgainst(const CommandSpec& command, const CommandLine& c, std::ostream& err) {
  for (const auto& [name, value] : c.vm) {
    if (name == "command" || name == "args" || IsGlobal(name) || Uses(command, name)) continue;
    err << "vigilctl " << command.name << ": option '--" << name << "' does not apply to "
        << command.name << "\nTry 'vigilctl " << command.name << " --help'.\n";
    return false;
  }
  if (c.args.size() < command.min_args || c.args.size() > command.max_args) {
    err << "vigilctl " << command.name << ": expected "
        << (command.arguments.empty() ? "no arguments" : std::string(command.arguments))
        << ", found " << c.args.size() << " argument(s)\nTry 'vigilctl " << command.name
        << " --help'.\n";
    return false;
  }
  return true;
}

void ReportUnknownCommand(const std::string& name, std::ostream& err) {
  err << "vigilctl: unknown command '" << name << "'";
  std::vector<std::string_view> names;
  for (const auto& command : Commands()) names.push_back(command.name);
  if (const auto near = DidYouMean(name, names)) err << "; did you mean '" << *near << "'?";
  err << "\nTry 'vigilctl --help'.\n";
}

}  // namespace

std::string CommandLine::Value(std::string_view option, std::string fallback) const {
  const auto it = vm.find(std::string(option));
  return it == vm.end() ? fallback : it->second.as<std::string>();
}

std::vector<std::string> CommandLine::Values(std::string_view option) const {
  const auto it = vm.find(std::string(option));
  return it == vm.end() ? std::vector<std::string>{}
                        : it->second.as<std::vector<std::string>>();
}

const CommandSpec* FindCommand(std::string_view name) {
  for (const auto& command : Commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

const OptionSpec* FindOption(std::string_view name) {
  for (const auto& o : GlobalOptions()) {
    if (o.name == name) return &o;
  }
  for (const auto& o : CommandOptions()) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

std::string UsageText() {
  std::string out = "Usage: vigilctl [OPTIONS] COMMAND [ARGS]\n\nCommands:\n";
  for (const auto& command : Commands()) {
    const std::string synopsis = fmt::format("{} {}", command.name, command.arguments);
    out += fmt::format("  {:<26} {}\n", synopsis, command.summary);
  }
  out += "\nOptions of every command:\n";
  for (const auto& o : GlobalOptions()) AppendOption(out, o, "");
  out += "\n'vigilctl COMMAND --help' (or 'vigilctl help COMMAND') shows a command's own "
         "options.\nExit status: 0 success or yes, 1 no or timed out, 2 error. docs/vigilctl.md "
         "has the details.\n";
  return out;
}

std::string CommandHelp(const CommandSpec& command) {
  std::string out = fmt::format("Usage: vigilctl {}{}{}{}\n\n{}\n", command.name,
                                command.arguments.empty() ? "" : " ", command.arguments,
                                command.options.empty() ? "" : " [OPTIONS]",
                                Wrap(command.description, 0, 0));
  if (!command.options.empty()) {
    out += "\nOptions:\n";
    for (const auto& use : command.options) AppendOption(out, *FindOption(use.name), use.help);
  }
  out += "\nOptions of every command:\n";
  for (const auto& o : GlobalOptions()) AppendOption(out, o, "");
  return out;
}

namespace {
int ParseAndRun(int argc, const char* const* argv, std::ostream& out, std::ostream& err);
}  // namespace

int RunVigilctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  // The last line of defence: whatever a library throws is a message and exit 2, never an
  // abort.
  try {
    return ParseAndRun(argc, argv, out, err);
  } catch (const std::exception& e) {
    err << "vigilctl: " << e.what() << "\n";
    return kExitError;
  }
}

namespace {

int ParseAndRun(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CommandLine c;
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);
  try {
    po::store(po::command_line_parser(argc, argv).options(ParserOptions()).positional(positional)
                  .run(),
              c.vm);
  } catch (const po::unknown_option& e) {
    ReportUnknownOption(e.get_option_name(), err);
    return kExitError;
  } catch (const po::error& e) {
    err << "vigilctl: " << e.what() << "\nTry 'vigilctl --help'.\n";
    return kExitError;
  }
  c.command = c.Value("command");
  c.args = c.Values("args");
  const CommandSpec* command = c.command.empty() ? nullptr : FindCommand(c.command);
  if (!c.command.empty() && !command) {
    ReportUnknownCommand(c.command, err);
    return kExitError;
  }
  if (c.Given("help")) {
    out << (command ? CommandHelp(*command) : UsageText());
    return kExitOk;
  }
  if (c.Given("version")) {
    out << kVersionText;
    return kExitOk;
  }
  if (!command) {
    err << UsageText();
    return kExitError;
  }
  if (!CheckAgainst(*command, c, err)) return kExitError;
  const char* env_socket = std::getenv("VIGIL_SOCKET");
  c.o.socket = c.Value("socket", env_socket ? env_socket : std::string(kDefaultSocket));
  c.o.json = c.Given("json");
  c.o.quiet = c.Given("quiet");
  return command->run(c, out, err);
}

}  // namespace

}  // namespace vigil
