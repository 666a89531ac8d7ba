#include <gtest/gtest.h>

#include "base/did_you_mean.h"
#include "base/duration.h"
#include "config/endpoint.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesUnitsAndDecimals) {
  EXPECT_EQ(*ParseDuration("250ms"), 250ms);
  EXPECT_EQ(*ParseDuration("1.5s"), 1500ms);
  EXPECT_EQ(*ParseDuration("2m"), 120s);
  EXPECT_EQ(*ParseDuration("1m30s"), 90s);
  EXPECT_EQ(*ParseDuration("1h"), 3600s);
  EXPECT_EQ(*ParseDuration("10us"), 10us);
  EXPECT_EQ(*ParseDuration("7ns"), 7ns);
  EXPECT_EQ(*ParseDuration("0s"), 0s);
}

TEST(Duration, RejectsEverythingElse) {
  for (const char* bad : {"", "100", "ms", "1.s", ".5s", "1..5s", "-1s", "1 s", "1sec", "1d",
                          "1e3ms", "s1", "99999999999h"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatRoundTrips) {
  for (auto d : {Duration(250ms), Duration(1500ms), Duration(120s), Duration(90s),
                 Duration(7ns), Duration(0s)}) {
    EXPECT_EQ(*ParseDuration(FormatDuration(d)), d) << FormatDuration(d);
  }
  EXPECT_EQ(FormatDuration(120s), "2m");
  EXPECT_EQ(FormatDuration(1500ms), "1500ms");
}

TEST(Endpoint, ParsesTheThreeHostKinds) {
  auto v4 = ParseEndpoint("10.0.0.2:9000");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->kind, Endpoint::HostKind::kIPv4);
  EXPECT_EQ(v4->port, 9000);
  auto v6 = ParseEndpoint("[::1]:9000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->kind, Endpoint::HostKind::kIPv6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->ToString(), "[::1]:9000");
  auto bare6 = ParseEndpoint("fd00::1");
  ASSERT_TRUE(bare6);
  EXPECT_EQ(bare6->port, kDefaultPort);
  auto name = ParseEndpoint("node-3.example.org");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->kind, Endpoint::HostKind::kName);
}

TEST(Endpoint, RejectsMalformedAddresses) {
  for (const char* bad : {"", "[::1", "[::1]x", "[::1]:", "10.0.0.2:", "10.0.0.2:0",
                          "10.0.0.2:65536", "10.0.0.2:http", "1.2.3.4.5", "-bad.example",
                          "bad-.example", "under_score.example", "[1.2.3.4]:80", "::g"}) {
    const auto parsed = ParseEndpoint(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_FALSE(parsed.message().empty()) << bad;
  }
}

TEST(DidYouMean, SuggestsCloseKeysOnly) {
  const std::string_view keys[] = {"threshold", "timeout", "heartbeat"};
  EXPECT_EQ(DidYouMean("treshold", keys), "threshold");
  EXPECT_EQ(DidYouMean("hartbeat", keys), "heartbeat");
  EXPECT_FALSE(DidYouMean("banana", keys).has_value());
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace vigil
