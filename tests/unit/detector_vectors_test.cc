// Every row of ../shared/reference/VECTORS.md: the published Akka and Cassandra vectors.
#include <gtest/gtest.h>

#include <cmath>

#include "detector/exponential_detector.h"
#include "detector/interval_history.h"
#include "detector/phi_accrual_detector.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

using testing::AtMs;
using namespace std::chrono_literals;

double Cdf(double phi) { return 1.0 - std::pow(10.0, -phi); }

PhiAccrualOptions AkkaDefaults() {
  PhiAccrualOptions o;
  o.threshold = 8;
  o.max_sample_size = 1000;
  o.min_std_deviation = 100ms;
  o.acceptable_heartbeat_pause = 0ms;
  o.first_heartbeat_estimate = 1s;
  return o;
}

TEST(AkkaVectors, CdfOfPhiAtTheMeanIsOneHalf) {
  EXPECT_NEAR(Cdf(AkkaPhi(0, 0, 10)), 0.5, 0.001);
}

TEST(AkkaVectors, CdfOfPhiMatchesTheNormalDistribution) {
  EXPECT_NEAR(Cdf(AkkaPhi(6, 0, 10)), 0.7257, 0.001);
  EXPECT_NEAR(Cdf(AkkaPhi(15, 0, 10)), 0.9332, 0.001);
  EXPECT_NEAR(Cdf(AkkaPhi(20, 0, 10)), 0.97725, 0.001);
  EXPECT_NEAR(Cdf(AkkaPhi(25, 0, 10)), 0.99379, 0.001);
  EXPECT_NEAR(Cdf(AkkaPhi(35, 0, 10)), 0.99977, 0.001);
  EXPECT_NEAR(Cdf(AkkaPhi(40, 0, 10)), 0.99997, 0.0001);
  EXPECT_NEAR(Cdf(AkkaPhi(22, 20, 3)), 0.7475, 0.001);
}

TEST(AkkaVectors, PhiIsStrictlyIncreasingFromZeroToForty) {
  double previous = -1;
  for (int x = 0; x <= 40; ++x) {
    const double phi = AkkaPhi(x, 0, 10);
    EXPECT_GT(phi, previous) << "x=" << x;
    previous = phi;
  }
}

TEST(AkkaVectors, PhiFarInTheTailAndFarBeforeTheMean) {
  EXPECT_NEAR(AkkaPhi(10, 0, 1), 38.0, 1.0);
  EXPECT_EQ(AkkaPhi(-25, 0, 1), 0.0);  // exactly zero: exp overflows, no NaN
}

TEST(AkkaVectors, PhiAtMean1000Sd100) {
  const double t[] = {0, 500, 1000, 1200, 1400, 1600, 1700};
  const double want[] = {0.0, 0.1, 0.3, 1.6, 4.7, 10.8, 15.3};
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(AkkaPhi(t[i], 1000, 100), want[i], 0.1) << "t=" << t[i];
}

TEST(AkkaVectors, LargerDeviationGivesSmallerPhi) {
  EXPECT_LT(AkkaPhi(1100, 1000, 500), AkkaPhi(1100, 1000, 100));
}

TEST(AkkaVectors, PhiAfterOneHeartbeatUsesTheFirstEstimate) {
  PhiAccrualDetector d(AkkaDefaults());
  EXPECT_EQ(d.Level(AtMs(0)), 0.0);  // before the first heartbeat
  d.Heartbeat(AtMs(0));
  EXPECT_NEAR(d.Level(AtMs(1000)), 0.3, 0.2);
  EXPECT_NEAR(d.Level(AtMs(2000)), 4.5, 0.3);
  EXPECT_GT(d.Level(AtMs(3000)), 15);
}

TEST(AkkaVectors, ThresholdThree) {
  auto o = AkkaDefaults();
  o.threshold = 3;
  PhiAccrualDetector d(o);
  for (double t : {0, 1000, 1100}) d.Heartbeat(AtMs(t));
  EXPECT_TRUE(d.IsAvailable(AtMs(1200)));
  EXPECT_FALSE(d.IsAvailable(AtMs(8200)));
}

TEST(AkkaVectors, AcceptablePauseKeepsPeerAvailable) {
  auto o = AkkaDefaults();
  o.acceptable_heartbeat_pause = 3s;
  PhiAccrualDetector d(o);
  for (double t : {0, 1000, 2000, 3000}) d.Heartbeat(AtMs(t));
  EXPECT_TRUE(d.IsAvailable(AtMs(7000)));
  d.Heartbeat(AtMs(7000));
  EXPECT_TRUE(d.IsAvailable(AtMs(8000)));
}

TEST(AkkaVectors, AcceptablePauseExceeded) {
  auto o = AkkaDefaults();
  o.acceptable_heartbeat_pause = 3s;
  PhiAccrualDetector d(o);
  for (double t : {0, 1000, 2000, 3000, 4000, 5000}) d.Heartbeat(AtMs(t));
  EXPECT_TRUE(d.IsAvailable(AtMs(5500)));
  d.Heartbeat(AtMs(6000));
  EXPECT_FALSE(d.IsAvailable(AtMs(11000)));
}

TEST(AkkaVectors, AvailableAgainAfterBeingMarkedDead) {
  auto o = AkkaDefaults();
  o.threshold = 8;
  o.acceptable_heartbeat_pause = 3s;
  PhiAccrualDetector d(o);
  double t = 0;
  for (int i = 0; i < 1000; ++i, t += 1000) d.Heartbeat(AtMs(t));
  const double last = t - 1000;
  EXPECT_FALSE(d.IsAvailable(AtMs(last + 300000)));
  d.Heartbeat(AtMs(last + 300100));
  EXPECT_TRUE(d.IsAvailable(AtMs(last + 301000)));
  d.Heartbeat(AtMs(last + 301100));
  EXPECT_FALSE(d.IsAvailable(AtMs(last + 308100)));
  d.Heartbeat(AtMs(last + 308200));
  EXPECT_TRUE(d.IsAvailable(AtMs(last + 309100)));
  d.Heartbeat(AtMs(last + 309200));
  EXPECT_TRUE(d.IsAvailable(AtMs(last + 310100)));
}

TEST(AkkaVectors, MaxSampleSizeBoundsTheHistory) {
  auto o = AkkaDefaults();
  o.max_sample_size = 3;
  PhiAccrualDetector d(o);
  for (double t : {0, 100, 200, 300}) d.Heartbeat(AtMs(t));
  const double phi1 = d.Level(AtMs(400));
  for (double t : {1000, 1500, 2000, 2500}) d.Heartbeat(AtMs(t));
  const double phi2 = d.Level(AtMs(3000));
  EXPECT_NEAR(phi1, phi2, 0.001);
}

TEST(AkkaVectors, HistoryMeanAndVariance) {
  IntervalHistory h(20);
  for (int ms : {100, 200, 125, 340, 130}) h.Add(std::chrono::milliseconds(ms));
  EXPECT_NEAR(h.MeanMillis(), 179.0, 1e-9);
  EXPECT_NEAR(h.VarianceMillis2(), 7584.0, 1e-9);
}

TEST(AkkaVectors, OneSampleHasZeroVariance) {
  IntervalHistory h(20);
  h.Add(1000ms);
  EXPECT_EQ(h.VarianceMillis2(), 0.0);
}

TEST(AkkaVectors, HistoryCapacityThreeSlides) {
  IntervalHistory h(3);
  for (int ms : {100, 110, 90}) h.Add(std::chrono::milliseconds(ms));
  EXPECT_NEAR(h.MeanMillis(), 100, 1e-6);
  EXPECT_NEAR(h.VarianceMillis2(), 66.6666667, 1e-6);
  h.Add(140ms);
  EXPECT_NEAR(h.MeanMillis(), 113.333333, 1e-6);
  EXPECT_NEAR(h.VarianceMillis2(), 422.222222, 1e-6);
  h.Add(80ms);
  EXPECT_NEAR(h.MeanMillis(), 103.333333, 1e-6);
  EXPECT_NEAR(h.VarianceMillis2(), 688.88888889, 1e-6);
}

TEST(CassandraVectors, SeedSampleDropsOutOfAWindowOfFour) {
  ExponentialOptions o;
  o.window_size = 4;
  o.heartbeat_interval = 1s;  // seed 2 s, as Cassandra's default gossip interval gives
  ExponentialDetector d(o);
  for (double t : {111, 222, 333, 444, 555}) d.Heartbeat(AtMs(t));
  EXPECT_NEAR(d.RawPhi(AtMs(666)), 1.0, 0.01);
  EXPECT_NEAR(d.RawPhi(AtMs(3000)), 22.03, 0.01);
  // Level is Cassandra's convict value: raw phi / ln 10.
  EXPECT_NEAR(d.Level(AtMs(3000)), 22.03 / std::log(10.0), 0.01);
}

TEST(CassandraVectors, IntervalsAboveTheMaximumAreNotLearned) {
  ExponentialOptions o;
  o.window_size = 4;
  o.heartbeat_interval = 100ms;  // seed 200 ms, max interval 200 ms
  ExponentialDetector d(o);
  d.Heartbeat(AtMs(0));
  d.Heartbeat(AtMs(100));
  d.Heartbeat(AtMs(5100));  // 5 s gap: not learned
  EXPECT_NEAR(d.Stats().mean_ms, 150.0, 1e-9);
  EXPECT_EQ(d.Stats().samples, 2u);
}

}  // namespace
}  // namespace vigil
