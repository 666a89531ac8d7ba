// Properties every detector must have, over randomized histories (seeded, reproducible).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <random>

#include "detector/detector_options.h"
#include "detector/exponential_detector.h"
#include "detector/phi_accrual_detector.h"
#include "detector/timeout_detector.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

using testing::AtMs;
using namespace std::chrono_literals;

struct Kind {
  const char* name;
  DetectorOptions options;
};

std::vector<Kind> AllKinds() {
  // Named kinds are set explicitly: "phi" once ran the default kind, which became adaptive.
  DetectorOptions adaptive;
  DetectorOptions phi;
  phi.set_kind(DetectorKind::kPhi);
  DetectorOptions phi_pause = phi;
  std::get<PhiKnobs>(phi_pause.knobs).acceptable_heartbeat_pause = 3s;
  phi_pause.max_sample_size = 50;
  DetectorOptions expo;
  expo.set_kind(DetectorKind::kPhiExponential);
  DetectorOptions timeout;
  timeout.set_kind(DetectorKind::kTimeout);
  std::get<TimeoutKnobs>(timeout.knobs).timeout = 750ms;
  return {{"adaptive", adaptive}, {"phi", phi}, {"phi-pause", phi_pause},
          {"exponential", expo}, {"timeout", timeout}};
}

// Feeds a random history: intervals around `mean_ms` with occasional long gaps.
void FeedRandom(FailureDetector& d, std::mt19937_64& rng, double mean_ms, int count,
                double* t_ms) {
  std::lognormal_distribution<double> jitter(0.0, 0.4);
  std::bernoulli_distribution gap(0.05);
  for (int i = 0; i < count; ++i) {
    *t_ms += mean_ms * jitter(rng) * (gap(rng) ? 5.0 : 1.0);
    d.Heartbeat(AtMs(*t_ms));
  }
}

void PrintTo(const Kind& kind, std::ostream* os) { *os << kind.name; }

class DetectorProperties : public ::testing::TestWithParam<Kind> {};

TEST_P(DetectorProperties, LevelNeverDecreasesWithSilence) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 50; ++trial) {
    auto d = MakeDetector(GetParam().options, 100ms);
    double t = 0;
    FeedRandom(*d, rng, 100, 1 + trial * 7, &t);
    double previous = d->Level(AtMs(t));
    for (double dt = 0; dt < 20000; dt += 7.3) {
      const double level = d->Level(AtMs(t + dt));
      ASSERT_FALSE(std::isnan(level));
      ASSERT_GE(level, previous) << "trial " << trial << " dt " << dt;
      previous = level;
    }
  }
}

TEST_P(DetectorProperties, CrossingTimeAgreesWithLevelWithinAMillisecond) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> level_dist(0.05, 30.0);
  int checked = 0;
  for (int trial = 0; trial < 200; ++trial) {
    auto d = MakeDetector(GetParam().options, 100ms);
    double t = 0;
    FeedRandom(*d, rng, 20 + trial, 1 + trial % 40, &t);
    double level = level_dist(rng);
    if (GetParam().options.kind() == DetectorKind::kTimeout) level /= 10;  // its scale is ~1
    const auto crossing = d->CrossingTime(level);
    ASSERT_TRUE(crossing.has_value());
    if (*crossing == kNever) continue;
    const double at_ms = ToMillis(*crossing - MonoTime{});
    // At the crossing (and a millisecond after) the level is reached; a millisecond before
    // it is not, unless the crossing is the last heartbeat itself.
    EXPECT_GE(d->Level(*crossing) + 1e-9, level) << "trial " << trial;
    EXPECT_GE(d->Level(AtMs(at_ms + 1)), level) << "trial " << trial;
    if (at_ms - 1 > t) {
      EXPECT_LT(d->Level(AtMs(at_ms - 1)), level) << "trial " << trial;
    }
    ++checked;
  }
  EXPECT_GT(checked, 150);
}

TEST_P(DetectorProperties, NoHeartbeatMeansLevelZeroAndNoCrossing) {
  auto d = MakeDetector(GetParam().options, 100ms);
  EXPECT_EQ(d->Level(AtMs(1e6)), 0.0);
  EXPECT_FALSE(d->CrossingTime(1.0).has_value());
  EXPECT_FALSE(d->last_heartbeat().has_value());
}

TEST_P(DetectorProperties, ExtremeInputsGiveFiniteOrInfiniteNeverNaN) {
  auto check = [](const FailureDetector& d, double now_ms) {
    const double level = d.Level(AtMs(now_ms));
    EXPECT_FALSE(std::isnan(level)) << now_ms;
    EXPECT_GE(level, 0.0) << now_ms;
    for (double l : {1e-9, 0.5, 8.0, 1e3, 1e300}) {
      auto c = d.CrossingTime(l);
      ASSERT_TRUE(c.has_value());
    }
  };
  // One sample.
  auto one = MakeDetector(GetParam().options, 100ms);
  one->Heartbeat(AtMs(0));
  for (double now : {-1e9, -1.0, 0.0, 1.0, 1e3, 1e9, 1e12}) check(*one, now);
  // The extremes of the clock itself.
  EXPECT_FALSE(std::isnan(one->Level(MonoTime::min())));
  EXPECT_FALSE(std::isnan(one->Level(MonoTime::max())));
  // Identical samples (zero variance) and zero intervals.
  auto same = MakeDetector(GetParam().options, 100ms);
  for (int i = 0; i < 100; ++i) same->Heartbeat(AtMs(5));
  for (double now : {5.0, 5.001, 6.0, 1e9}) check(*same, now);
  // Huge intervals.
  auto huge = MakeDetector(GetParam().options, 100ms);
  for (int i = 0; i < 10; ++i) huge->Heartbeat(AtMs(i * 1e10));
  for (double now : {9e10, 1e11, 1e12}) check(*huge, now);
  // Out-of-order `now`: an earlier heartbeat is ignored, an earlier query is fine.
  auto ooo = MakeDetector(GetParam().options, 100ms);
  ooo->Heartbeat(AtMs(1000));
  ooo->Heartbeat(AtMs(500));
  EXPECT_EQ(*ooo->last_heartbeat(), AtMs(1000));
  check(*ooo, 0);
}

INSTANTIATE_TEST_SUITE_P(AllKinds, DetectorProperties, ::testing::ValuesIn(AllKinds()),
                         [](const auto& param_info) {
                           std::string n = param_info.param.name;
                           for (auto& c : n) if (c == '-') c = '_';
                           return n;
                         });

TEST(AkkaPhiInverse, InvertsPhiAcrossTheRange) {
  for (double mean : {10.0, 1000.0, 4000.0}) {
    for (double sd : {1.0, 100.0, 700.0}) {
      for (double phi : {1e-6, 0.01, 0.3, 1.0, 3.0, 8.0, 16.0, 50.0, 300.0, 1000.0}) {
        const double t = AkkaPhiInverse(phi, mean, sd);
        EXPECT_NEAR(AkkaPhi(t, mean, sd), phi, 1e-9 * std::max(1.0, phi))
            << "mean " << mean << " sd " << sd << " phi " << phi;
      }
    }
  }
}

TEST(AkkaPhi, FarTailIsFiniteAndStillIncreasing) {
  // Akka's own formula returns +inf here; ours stays exact, so ordering is kept.
  const double a = AkkaPhi(1e6, 0, 1);
  const double b = AkkaPhi(2e6, 0, 1);
  EXPECT_FALSE(std::isnan(a));
  EXPECT_GT(b, a);
  EXPECT_EQ(AkkaPhi(std::numeric_limits<double>::infinity(), 0, 1),
            std::numeric_limits<double>::infinity());
}

TEST(TimeoutDetector, DownExactlyAtTheTimeout) {
  TimeoutDetector d({750ms});
  d.Heartbeat(AtMs(100));
  EXPECT_TRUE(d.IsAvailable(AtMs(849.999)));
  EXPECT_FALSE(d.IsAvailable(AtMs(850)));
  EXPECT_EQ(*d.CrossingTime(1.0), AtMs(850));
  EXPECT_EQ(*d.CrossingTime(0.5), AtMs(475));
}

}  // namespace
}  // namespace vigil
