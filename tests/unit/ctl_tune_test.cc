// vigilctl tune's judgement: whether a trace can support a budget (the rule of three), the
// preference for settings that held out, the progress meter, and the plot file opened
// before the work. CheckEvidence and Choose moved from ctl/tune_sweep.h to quality/tune.h,
// FormatHours and NotEnoughEvidence (the refusal's text) to ctl/tune_report.h.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ctl/output_file.h"
#include "ctl/progress.h"
#include "ctl/tune_report.h"
#include "quality/tune.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;

TraceSplit Parts(double train_hours, double holdout_hours) {
  return {100, train_hours, holdout_hours};
}

TEST(TuneEvidence, ATwentyFiveSecondTraceCannotSupportOneMistakeAnHour) {
  const TraceSplit split = Parts(17.5 / 3600, 7.5 / 3600);
  const Evidence e = CheckEvidence(split, 1.0, 0.3);
  EXPECT_FALSE(e.enough);
  EXPECT_NEAR(e.hours_per_part, 3.0, 0.01);  // 3 / R
  EXPECT_NEAR(e.trace_hours, 10.0, 0.02);     // the held-out 30 % must cover 3 h
  const std::string m = NotEnoughEvidence("t.csv", split, e, 1.0, 0.3);
  EXPECT_NE(m.find("t.csv is too short to support a budget of 1 mistakes/h: it spans 25 s"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("needs 3 h in each part: a trace of at least 10 h at --holdout 0.3 (6 h at "
                   "--holdout 0.5)"),
            std::string::npos)
      << m;
  // The smallest budget 7.5 s can support, rounded up so that it really is supported.
  EXPECT_NE(m.find("--max-mistakes-per-hour 1500 or more"), std::string::npos) << m;
  EXPECT_TRUE(CheckEvidence(split, 1500, 0.3).enough);
}

TEST(TuneEvidence, BothPartsMustCoverThreeOverTheBudget) {
  // The table in docs/tuning.md: hours per part and trace length at --holdout 0.3.
  for (const auto& [budget, per_part, trace] :
       {std::tuple{10.0, 0.3, 1.0}, std::tuple{1.0, 3.0, 10.0}, std::tuple{0.1, 30.0, 100.0}}) {
    const Evidence e = CheckEvidence(Parts(trace * 0.7, trace * 0.3), budget, 0.3);
    EXPECT_NEAR(e.hours_per_part, per_part, per_part * 0.002) << budget;
    EXPECT_NEAR(e.trace_hours, trace, trace * 0.002) << budget;
    EXPECT_TRUE(e.enough) << budget;
    EXPECT_FALSE(CheckEvidence(Parts(trace * 0.7, trace * 0.29), budget, 0.3).enough) << budget;
  }
  // A long training part does not make up for a short held-out one, nor the reverse.
  EXPECT_FALSE(CheckEvidence(Parts(100, 1), 1.0, 0.01).enough);
  EXPECT_FALSE(CheckEvidence(Parts(1, 100), 1.0, 0.99).enough);
}

TEST(TuneEvidence, FormatsHoursInTheirUnit) {
  EXPECT_EQ(FormatHours(25.0 / 3600), "25 s");
  EXPECT_EQ(FormatHours(0.3), "18 min");
  EXPECT_EQ(FormatHours(9.9999), "10 h");
  EXPECT_EQ(FormatHours(100), "4.2 days");
}

Candidate Setting(std::string family, std::string spec, double train_rate, double test_rate,
                  double td_ms) {
  Candidate c{std::move(family), std::move(spec), "", {}, {}};
  c.train.mistakes_per_hour = train_rate;
  c.test.mistakes_per_hour = test_rate;
  c.train.detection_mean_ms = c.test.detection_mean_ms = td_ms;
  return c;
}

TEST(TuneChoose, PrefersASettingThatHeldOutOverAFasterOneThatDidNot) {
  const std::vector<Candidate> all = {
      Setting("timeout", "timeout:timeout=200ms", 0.5, 4.0, 200),  // fast, broke held out
      Setting("timeout", "timeout:timeout=300ms", 0.2, 0.5, 300),  // slower, held
      Setting("timeout", "timeout:timeout=150ms", 3.0, 3.0, 150),  // over on training
  };
  const TuneChoices t = Choose(all, 1.0);
  ASSERT_NE(t.families.at("timeout").candidate, nullptr);
  EXPECT_EQ(t.families.at("timeout").candidate->spec, "timeout:timeout=300ms");
  EXPECT_TRUE(t.families.at("timeout").holds_out);
  EXPECT_EQ(t.best.candidate->spec, "timeout:timeout=300ms");
  EXPECT_EQ(t.families.at("phi").candidate, nullptr);  // every family is listed
}

TEST(TuneChoose, OverallPrefersTheFamilyWhoseChoiceHeldOut) {
  const std::vector<Candidate> all = {
      Setting("phi", "phi:threshold=1", 0.5, 2.0, 150),  // the fastest, but only on training
      Setting("adaptive", "adaptive", 0.5, 0.5, 400),
  };
  const TuneChoices t = Choose(all, 1.0);
  EXPECT_FALSE(t.families.at("phi").holds_out);
  EXPECT_EQ(t.families.at("phi").candidate->spec, "phi:threshold=1");  // still reported
  EXPECT_EQ(t.best.candidate->spec, "adaptive");
  EXPECT_TRUE(t.best.holds_out);
}

TEST(TuneChoose, FallsBackToTheTrainingChoiceAndSaysItDidNotHold) {
  const std::vector<Candidate> all = {Setting("phi", "phi:threshold=1", 0.5, 2.0, 150)};
  const TuneChoices t = Choose(all, 1.0);
  ASSERT_NE(t.best.candidate, nullptr);
  EXPECT_FALSE(t.best.holds_out);
}

// A regular trace: n heartbeats, one every `every_ms`, send times unknown.
Trace Beats(int n, double every_ms) {
  Trace t;
  for (int i = 0; i < n; ++i) {
    t.rows.push_back({static_cast<std::uint64_t>(i + 1), std::nullopt, i * every_ms});
  }
  return t;
}

TEST(TuneRun, NeedsTwoHeartbeatsInEachPart) {
  EXPECT_FALSE(SplitByTime(Trace{}, 0.3).has_value());  // no rows: no split, no crash
  EXPECT_EQ(Tune(Beats(3, 1000), 1s, TuneOptions{}).status, TuneStatus::kTooShortToSplit);
}

TEST(TuneRun, RefusesATraceThatCannotShowTheBudgetBeforeReplayingAnything) {
  TuneOptions o;
  o.max_mistakes_per_hour = 1.0;
  const TuneResult r = Tune(Beats(26, 1000), 1s, o);  // 25 s
  EXPECT_EQ(r.status, TuneStatus::kNotEnoughEvidence);
  EXPECT_FALSE(r.evidence.enough);
  EXPECT_NEAR(r.split.holdout_hours, 7.5 / 3600, 1e-9);
  EXPECT_TRUE(r.candidates.empty());
}

TEST(TuneRun, ScoresEverySettingAndReportsProgressFromZero) {
  TuneOptions o;
  o.max_mistakes_per_hour = 1500;  // what 7.5 s held out can support
  std::vector<std::size_t> calls;
  std::size_t grid = 0;
  o.progress = [&](std::size_t done, std::size_t total) {
    calls.push_back(done);
    grid = total;
  };
  const TuneResult r = Tune(Beats(26, 1000), 1s, o);
  ASSERT_EQ(r.status, TuneStatus::kTuned) << r.error;
  EXPECT_EQ(r.candidates.size(), grid);
  ASSERT_EQ(calls.size(), grid + 1);
  EXPECT_EQ(calls.front(), 0u);
  EXPECT_EQ(calls.back(), grid);
  EXPECT_EQ(r.choices.families.size(), 4u);
}

TEST(ProgressMeter, SaysNothingForASecondThenOneLineASecond) {
  auto now = std::chrono::steady_clock::time_point{};
  std::ostringstream out;
  ProgressMeter m(&out, 300, "tune", [&] { return now; });
  now += 900ms;
  m.Update(10);
  EXPECT_EQ(out.str(), "");  // a quick run prints nothing
  now += 200ms;
  m.Update(120);
  EXPECT_EQ(out.str(), "tune: 40 % (swept 120 of 300 settings)\n");
  now += 500ms;
  m.Update(150);
  EXPECT_EQ(out.str(), "tune: 40 % (swept 120 of 300 settings)\n");  // rate-limited
  now += 600ms;
  m.Update(180);
  EXPECT_NE(out.str().find("tune: 60 % (swept 180 of 300 settings)\n"), std::string::npos);
  now += 5s;
  m.Update(300);  // done: the result follows, no "100 %" line
  EXPECT_EQ(out.str().find("100 %"), std::string::npos);
  ProgressMeter silent(nullptr, 300, "tune", [&] { return now += 10s; });
  silent.Update(1);  // no stream: nothing to write to, nothing breaks
}

class OutputFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-output-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(OutputFileTest, AnUnwritablePathFailsAtOpenWithThePathAndTheReason) {
  const auto missing = OutputFile::Open(dir_ + "/no-such-dir/p.svg");
  EXPECT_FALSE(missing);
  EXPECT_EQ(missing.message(),
            "cannot write " + dir_ + "/no-such-dir/p.svg: No such file or directory");
  const auto directory = OutputFile::Open(dir_);
  EXPECT_FALSE(directory);
  EXPECT_NE(directory.message().find("Is a directory"), std::string::npos) << directory.message();
}

TEST_F(OutputFileTest, AFileItCreatedIsRemovedUnlessCommitted) {
  const std::string path = dir_ + "/p.svg";
  {
    auto f = OutputFile::Open(path);
    ASSERT_TRUE(f) << f.message();
    EXPECT_TRUE(std::filesystem::exists(path));  // held from the start
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  auto f = OutputFile::Open(path);
  ASSERT_TRUE(f) << f.message();
  const Status written = f->Commit("<svg/>\n");
  ASSERT_TRUE(written.ok()) << written.message();
  std::ifstream in(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "<svg/>\n");
}

TEST_F(OutputFileTest, AnExistingFileKeepsItsContentUntilCommit) {
  const std::string path = dir_ + "/p.svg";
  std::ofstream(path) << "old plot, longer than the new one\n";
  {
    auto f = OutputFile::Open(path);
    ASSERT_TRUE(f) << f.message();
  }
  std::ifstream in(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}),
            "old plot, longer than the new one\n");
  auto f = OutputFile::Open(path);
  ASSERT_TRUE(f) << f.message();
  const Status written = f->Commit("new\n");
  ASSERT_TRUE(written.ok()) << written.message();
  std::ifstream again(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(again), {}), "new\n");
}

}  // namespace
}  // namespace vigil
