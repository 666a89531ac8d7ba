// What one adaptive detector costs: its settings are held once for every detector with the
// same, and copies of a detector decide alike.
#include <gtest/gtest.h>

#include <cstdint>

#include "detector/adaptive_detector.h"
#include "detector/adaptive_params.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using testing::AtMs;

TEST(InternedAdaptiveParams, EqualSettingsShareOneCopy) {
  AdaptiveOptions o{100ms};
  const AdaptiveParams& a = InternedAdaptiveParams(o);
  EXPECT_EQ(&InternedAdaptiveParams(o), &a);
  o.margin = 2.0;
  const AdaptiveParams& b = InternedAdaptiveParams(o);
  EXPECT_NE(&b, &a);
  EXPECT_DOUBLE_EQ(b.options.margin, 2.0);
  EXPECT_DOUBLE_EQ(a.options.margin, 1.5);
  o.margin = 1.5;
  o.per_condition = false;  // every field tells settings apart
  EXPECT_NE(&InternedAdaptiveParams(o), &a);
  o.per_condition = true;
  o.memory = 30min;
  EXPECT_NE(&InternedAdaptiveParams(o), &a);
}

TEST(InternedAdaptiveParams, SettingsThatNormalizeAlikeShare) {
  AdaptiveOptions low{1s}, one{1s};
  low.margin = 0.5;  // below 1: taken as 1
  one.margin = 1.0;
  low.target_mistakes_per_hour = -3;  // not positive: the default
  one.target_mistakes_per_hour = 0.25;
  const AdaptiveParams& a = InternedAdaptiveParams(low);
  EXPECT_EQ(&InternedAdaptiveParams(one), &a);
  EXPECT_DOUBLE_EQ(a.options.margin, 1.0);
  EXPECT_DOUBLE_EQ(a.options.target_mistakes_per_hour, 0.25);
  EXPECT_DOUBLE_EQ(a.interval_ms, 1000.0);
  EXPECT_DOUBLE_EQ(a.alpha, 1000.0 / 3'600'000.0);  // interval / memory
}

TEST(InternedAdaptiveParams, WeightsAreClampedToSaneValues) {
  AdaptiveOptions o{0ms};
  o.memory = 0ms;
  const AdaptiveParams& p = InternedAdaptiveParams(o);
  EXPECT_DOUBLE_EQ(p.interval_ms, 0.001);  // at least 1 µs
  EXPECT_DOUBLE_EQ(p.alpha, 0.5);          // memory never shorter than the interval
}

// `n` heartbeats every 100 ms, each delayed by `queueing_ms` of queueing.
void Feed(AdaptiveDetector& d, std::uint64_t& seq, int n, double queueing_ms) {
  for (int i = 0; i < n; ++i) {
    ++seq;
    d.Heartbeat(AtMs(static_cast<double>(seq) * 100 + 0.2 + queueing_ms), seq);
  }
}

// A copy made mid-history carries every figure: from then on it decides exactly as a
// detector that saw the whole history itself.
TEST(AdaptiveDetector, ACopyDecidesAsATwinWithTheSameHistory) {
  AdaptiveDetector d(AdaptiveOptions{100ms}), twin(AdaptiveOptions{100ms});
  std::uint64_t seq_d = 0, seq_twin = 0;
  for (auto* x : {&d, &twin}) {
    std::uint64_t& seq = x == &d ? seq_d : seq_twin;
    Feed(*x, seq, 2000, 0);
    Feed(*x, seq, 1000, 30);  // a noisier condition learns its own figures
  }
  AdaptiveDetector copy = d;
  std::uint64_t seq_copy = seq_d;
  Feed(d, seq_d, 700, 0);  // the original alone moves on: the copy is not affected
  for (auto* x : {&copy, &twin}) {
    std::uint64_t& seq = x == &copy ? seq_copy : seq_twin;
    for (int i = 0; i < 400; ++i) {
      seq += (i % 50 == 0) ? 3 : 1;  // now and then two lost in a row
      x->Heartbeat(AtMs(static_cast<double>(seq) * 100 + 0.2 + (i % 7) * 4.0), seq);
    }
  }
  EXPECT_DOUBLE_EQ(copy.allowed_silence_ms(), twin.allowed_silence_ms());
  EXPECT_EQ(copy.loss_allowance(), twin.loss_allowance());
  EXPECT_EQ(copy.CrossingTime(1.0), twin.CrossingTime(1.0));
  EXPECT_NE(copy.last_heartbeat(), d.last_heartbeat());
}

}  // namespace
}  // namespace vigil
