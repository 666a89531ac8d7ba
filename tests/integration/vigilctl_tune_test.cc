// vigilctl tune on generated trace files: advice from a trace long enough for the budget,
// a refusal naming the length needed from one that is not, and an unwritable plot path
// reported before any work. (Moved here from recording_test.cc with the evidence rule.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <boost/json.hpp>

#include <cctype>

#include "config/config.h"
#include "quality/trace_generator.h"
#include "tests/integration/cluster.h"

namespace vigil {
namespace {

namespace json = boost::json;
using namespace vigil::testing;
using namespace std::chrono_literals;

std::string WanTrace(const TempDir& dir, const std::string& name, Duration interval,
                     Duration length) {
  TraceGeneratorOptions g;
  g.scenario = TraceScenario::kWan;
  g.interval = interval;
  g.length = length;
  std::ofstream f(dir.File(name));
  WriteTrace(f, GenerateTrace(g));
  return dir.File(name);
}

// stdout only into *out; stderr into *err.
int Tune(const std::string& args, std::string* out, std::string* err, const TempDir& dir) {
  const int rc = RunCommand(VigilctlPath() + " tune " + args + " 2>" + dir.File("tune.err"), out);
  std::ifstream in(dir.File("tune.err"));
  err->assign(std::istreambuf_iterator<char>(in), {});
  return rc;
}

double ChosenTd(const json::value& v) {
  for (const auto& [family, chosen] : v.at("chosen").as_object()) {
    if (!chosen.is_null() && chosen.at("detector") == v.at("best")) {
      return chosen.at("train").at("detection_mean_ms").to_number<double>();
    }
  }
  return -1;
}

TEST(Tune, PicksSettingsWithinTheBudgetAndWritesYamlAndAPlot) {
  TempDir dir;
  // 12 h: the held-out 30 % covers 3.6 h, more than the 3 h a budget of 1/h needs.
  const std::string trace = WanTrace(dir, "wan.csv", 1s, 12h);
  std::string out, err;
  ASSERT_EQ(Tune(trace + " --max-mistakes-per-hour 1 --json --plot " + dir.File("p.svg"), &out,
                 &err, dir),
            0)
      << out << err;
  const json::value v = json::parse(out);
  // One JSON writer: numbers as vigild writes them ("0.117"), never Boost's "1.17E-1".
  // Only outside strings: a path such as /tmp/vigil-test-F8E6Yn is not a number.
  bool in_string = false;
  for (std::size_t i = 1; i + 1 < out.size(); ++i) {
    if (out[i] == '"' && out[i - 1] != '\\') in_string = !in_string;
    const bool exponent = (out[i] == 'E' || out[i] == 'e') && std::isdigit(out[i - 1]) &&
                          (std::isdigit(out[i + 1]) || out[i + 1] == '-' || out[i + 1] == '+');
    ASSERT_FALSE(exponent && !in_string) << "exponent form at " << i << ": " << out;
  }
  ASSERT_TRUE(v.at("best").is_string());
  EXPECT_TRUE(v.at("best_holds_out").as_bool());
  for (const auto& [family, chosen] : v.at("chosen").as_object()) {
    if (chosen.is_null()) continue;
    EXPECT_LE(chosen.at("train").at("mistakes_per_hour").to_number<double>(), 1.0) << family;
  }
  const std::string yaml = std::string(v.at("yaml").as_string());
  const auto config = LoadConfigString("node:\n  id: x\n" + yaml, "tuned.yaml");
  EXPECT_TRUE(config.ok()) << yaml << (config.ok() ? "" : config.errors.front().ToString());
  std::ifstream svg(dir.File("p.svg"));
  const std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.rfind("<svg", 0), 0u);
  EXPECT_NE(text.find("</svg>"), std::string::npos);
  for (const char* family : {"adaptive", "phi-exponential", "timeout"}) {
    EXPECT_NE(text.find(family), std::string::npos) << family;
  }
  // A stricter budget (still within what 6 h per part can show) picks settings no faster.
  std::string loose, strict;
  ASSERT_EQ(Tune(trace + " --json --holdout 0.5 --max-mistakes-per-hour 2 --plot " +
                     dir.File("q.svg"),
                 &loose, &err, dir),
            0)
      << err;
  ASSERT_EQ(Tune(trace + " --json --holdout 0.5 --max-mistakes-per-hour 0.6 --plot " +
                     dir.File("q.svg"),
                 &strict, &err, dir),
            0)
      << err;
  EXPECT_GE(ChosenTd(json::parse(strict)), ChosenTd(json::parse(loose)));
  EXPECT_EQ(Tune(trace + " --holdout 1.5 --max-mistakes-per-hour 1", &out, &err, dir), 2);
  EXPECT_NE(err.find("--holdout must be a fraction between 0 and 1"), std::string::npos) << err;
}

TEST(Tune, RefusesATraceTooShortForTheBudgetAndSaysHowLongIsNeeded) {
  TempDir dir;
  const std::string trace = WanTrace(dir, "short.csv", 100ms, 25s);
  std::string out, err;
  EXPECT_EQ(Tune(trace + " --max-mistakes-per-hour 1 --plot " + dir.File("p.svg"), &out, &err,
                 dir),
            2);
  EXPECT_EQ(out, "") << "no advice at all: " << out;
  EXPECT_NE(err.find("is too short to support a budget of 1 mistakes/h: it spans 25 s"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("a trace of at least 10 h at --holdout 0.3"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("p.svg"))) << "no empty plot left behind";
  // The same trace supports the budget it names: then it advises, and says what it needs.
  const auto at = err.find("--max-mistakes-per-hour ", err.find("Record longer"));
  ASSERT_NE(at, std::string::npos) << err;
  const std::string budget = err.substr(at + 24, err.find(' ', at + 24) - at - 24);
  EXPECT_EQ(Tune(trace + " --max-mistakes-per-hour " + budget + " --plot " + dir.File("p.svg"),
                 &out, &err, dir),
            0)
      << out << err;
  EXPECT_NE(out.find("paste into vigil.yaml"), std::string::npos) << out;
}

TEST(Tune, AnUnwritablePlotPathFailsBeforeAnyWork) {
  TempDir dir;
  const std::string trace = WanTrace(dir, "wan.csv", 1s, 12h);
  const std::string plot = dir.File("no-such-dir/p.svg");
  std::string out, err;
  EXPECT_EQ(Tune(trace + " --max-mistakes-per-hour 1 --plot " + plot, &out, &err, dir), 2);
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "vigilctl tune: the plot: cannot write " + plot +
                     ": No such file or directory (choose another with --plot FILE)\n");
  // Checked first, before the trace is even read: a missing trace is not what it reports.
  EXPECT_EQ(Tune(dir.File("absent.csv") + " --max-mistakes-per-hour 1 --plot " + plot, &out, &err,
                 dir),
            2);
  EXPECT_NE(err.find("the plot: cannot write"), std::string::npos) << err;
}

}  // namespace
}  // namespace vigil
