// vigilctl's command line as a user meets it, run as the real binary: options belong to
// commands, typos get a suggestion, every command has its own help, completion works, and
// docs/vigilctl.md names every command and option the binary has.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "tests/integration/cluster.h"

namespace vigil::testing {
namespace {

int Ctl(const std::string& args, std::string* out) {
  return RunCommand(VigilctlPath() + " " + args, out, true);
}

// The command names `vigilctl --help` lists (the first word of each indented line under
// "Commands:").
std::vector<std::string> ListedCommands() {
  std::string usage;
  EXPECT_EQ(Ctl("--help", &usage), 0);
  std::vector<std::string> commands;
  std::istringstream in(usage.substr(usage.find("Commands:")));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line) && line.rfind("  ", 0) == 0) {
    commands.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return commands;
}

// Every "--option" word in `text`.
std::set<std::string> Options(const std::string& text) {
  std::set<std::string> found;
  for (std::size_t at = text.find("--"); at != std::string::npos; at = text.find("--", at + 2)) {
    const std::size_t end = text.find_first_not_of("abcdefghijklmnopqrstuvwxyz-", at + 2);
    if (end > at + 2) found.insert(text.substr(at, end - at));
  }
  return found;
}

// The release is declared once, in the top-level CMakeLists.txt; both programs print it.
TEST(VigilctlCli, BothProgramsPrintTheReleaseTheProjectDeclares) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/CMakeLists.txt");
  std::stringstream text;
  text << in.rdbuf();
  const std::string cmake = text.str();
  const std::string declaration = "project(vigil VERSION ";
  const auto at = cmake.find(declaration);
  ASSERT_NE(at, std::string::npos);
  const auto from = at + declaration.size();
  const std::string version = cmake.substr(from, cmake.find(' ', from) - from);
  ASSERT_FALSE(version.empty());
  std::string out;
  EXPECT_EQ(RunCommand(VigildPath() + " --version", &out), 0);
  EXPECT_EQ(out, "vigild " + version + "\n");
  EXPECT_EQ(RunCommand(VigilctlPath() + " --version", &out), 0);
  EXPECT_EQ(out, "vigilctl " + version + "\n");
}

TEST(VigilctlCli, AnOptionOfAnotherCommandIsAnErrorNamingIt) {
  std::string out;
  EXPECT_EQ(Ctl("status --holdout 2", &out), 2);
  EXPECT_NE(out.find("'--holdout' does not apply to status"), std::string::npos) << out;
  EXPECT_EQ(Ctl("--socket /nonexistent keygen --state up", &out), 2);
  EXPECT_NE(out.find("'--state' does not apply to keygen"), std::string::npos) << out;
}

TEST(VigilctlCli, MistypedCommandsAndOptionsGetASuggestion) {
  std::string out;
  EXPECT_EQ(Ctl("stauts", &out), 2);
  EXPECT_NE(out.find("unknown command 'stauts'; did you mean 'status'?"), std::string::npos)
      << out;
  EXPECT_EQ(Ctl("tune x.csv --max-mistakes-per-huor 1", &out), 2);
  EXPECT_NE(out.find("did you mean '--max-mistakes-per-hour'?"), std::string::npos) << out;
  EXPECT_EQ(Ctl("frobnicate", &out), 2);
  EXPECT_EQ(out.find("did you mean"), std::string::npos) << out;
  // Odd words are errors, never an abort (exit 134).
  for (const char* odd : {"---", "----", "--", "-"}) {
    EXPECT_EQ(Ctl(std::string(odd) + " status", &out), 2) << odd << ": " << out;
  }
}

TEST(VigilctlCli, EveryCommandHasItsOwnHelp) {
  const auto commands = ListedCommands();
  ASSERT_GE(commands.size(), 10u);
  for (const auto& command : commands) {
    std::string help, same;
    ASSERT_EQ(Ctl(command + " --help", &help), 0) << command;
    EXPECT_EQ(help.rfind("Usage: vigilctl " + command, 0), 0u) << help;
    ASSERT_EQ(Ctl("help " + command, &same), 0) << command;
    EXPECT_EQ(help, same);
    // A command's help lists its options; each is accepted by it (not "does not apply").
    for (const auto& option : Options(help)) {
      std::string out;
      Ctl(command + " " + option + " x", &out);
      EXPECT_EQ(out.find("does not apply"), std::string::npos) << command << " " << option;
    }
  }
  std::string status_help;
  Ctl("status --help", &status_help);
  EXPECT_EQ(status_help.find("--holdout"), std::string::npos);
}

TEST(VigilctlCli, BashCompletionCompletesCommandsOptionsAndStates) {
  TempDir dir;
  std::string script;
  ASSERT_EQ(RunCommand(VigilctlPath() + " completion bash > " + dir.File("c.bash"), &script), 0);
  auto complete = [&](const std::string& words, int cword) {
    std::string out;
    RunCommand("bash -c 'source " + dir.File("c.bash") + "; COMP_WORDS=(" + words +
                   "); COMP_CWORD=" + std::to_string(cword) +
                   "; _vigilctl; echo \"${COMPREPLY[@]}\"'",
               &out);
    return out;
  };
  EXPECT_EQ(complete("vigilctl sta", 1), "status\n");
  EXPECT_EQ(complete("vigilctl tune x --hol", 3), "--holdout\n");
  EXPECT_EQ(complete("vigilctl wait n1 --state su", 4), "suspect\n");
  EXPECT_EQ(complete("vigilctl status --hol", 2), "\n");  // not an option of status
}

TEST(VigilctlCli, TheManualNamesEveryCommandAndOption) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/vigilctl.md");
  ASSERT_TRUE(in) << "docs/vigilctl.md is missing";
  std::stringstream manual;
  manual << in.rdbuf();
  const std::string doc = manual.str();
  for (const auto& command : ListedCommands()) {
    EXPECT_NE(doc.find("### `vigilctl " + command), std::string::npos)
        << "docs/vigilctl.md has no section for " << command;
    std::string help;
    Ctl(command + " --help", &help);
    for (const auto& option : Options(help)) {
      EXPECT_NE(doc.find("`" + option), std::string::npos) << option << " of " << command;
    }
  }
}

}  // namespace
}  // namespace vigil::testing
