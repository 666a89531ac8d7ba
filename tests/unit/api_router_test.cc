// Routing and documents of the local API, without sockets.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "daemon/api_router.h"
#include "tests/unit/test_time.h"

namespace vigil {
namespace {

namespace json = boost::json;

class RouterTest : public ::testing::Test {
 protected:
  RouterTest()
      : config(*LoadConfigString("node:\n  id: me\npeers:\n  - id: p1\n    address: 10.0.0.1\n",
                                 "t.yaml")
                    .config),
        node(config, {testing::AtMs(0), WallTime{}}) {
    self.id = "me";
    self.version = "test";
  }
  ApiResponse Get(const std::string& target, std::optional<std::string_view> last = {}) {
    return Route("GET", target, last, ApiContext{node, counters, self, {testing::AtMs(100), WallTime{}}});
  }
  Config config;
  Node node;
  DaemonCounters counters;
  SelfInfo self;
};

TEST_F(RouterTest, KnownResources) {
  auto r = Get("/v1/peers");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  ASSERT_TRUE(r.next_piece);  // streamed
  EXPECT_TRUE(r.body.empty());
  std::string body;
  while (!r.next_piece(body)) {
  }
  auto v = json::parse(body);
  EXPECT_EQ(v.at("peers").as_array().size(), 1u);
  EXPECT_EQ(v.at("peers").at(0).at("state").as_string(), "unknown");
  EXPECT_TRUE(v.at("peers").at(0).at("last_heartbeat").is_null());
  EXPECT_EQ(Get("/v1/peers/p1").status, 200);
  EXPECT_EQ(Get("/v1/self").status, 200);
  EXPECT_EQ(Get("/v1/health").status, 200);
  r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain; version=0.0.4", 0), 0u);
}

TEST_F(RouterTest, Errors) {
  EXPECT_EQ(Get("/v1/peers/nope").status, 404);
  EXPECT_EQ(Get("/").status, 404);
  EXPECT_EQ(Get("/v1/peersx").status, 404);
  const auto r = Route("DELETE", "/v1/peers", {}, ApiContext{node, counters, self, {}});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET");
  EXPECT_EQ(json::parse(r.body).at("status").as_int64(), 405);
}

TEST_F(RouterTest, EventsResumeFromHeaderOrQuery) {
  auto r = Get("/v1/events");
  EXPECT_TRUE(r.stream_events);
  EXPECT_FALSE(r.resume_after);
  r = Get("/v1/events", "12");
  EXPECT_EQ(*r.resume_after, 12u);
  r = Get("/v1/events?last_event_id=7");
  EXPECT_EQ(*r.resume_after, 7u);
  r = Get("/v1/events?last_event_id=7", "9");  // the header wins
  EXPECT_EQ(*r.resume_after, 9u);
  EXPECT_EQ(Get("/v1/events", "-1").status, 400);
  EXPECT_EQ(Get("/v1/events?last_event_id=x").status, 400);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// How many samples of `family` (lines that start with it and a label set or a space).
std::size_t Samples(const std::string& text, const std::string& family) {
  std::size_t n = 0;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t eol = text.find('\n', at);
    const std::string line = text.substr(at, eol - at);
    if (line.rfind(family + "{", 0) == 0 || line.rfind(family + " ", 0) == 0) ++n;
    at = eol == std::string::npos ? text.size() : eol + 1;
  }
  return n;
}

TEST(MetricsPeerSeries, OnlyTheFirstListedPeersUpToTheLimitGetPerPeerSeries) {
  std::string yaml = "node:\n  id: me\npeers:\n";
  for (int i = 1; i <= 3; ++i) yaml += fmt::format("  - {{id: p{}, address: 10.0.0.{}}}\n", i, i);
  const Config config = *LoadConfigString(yaml, "t.yaml").config;
  const Node node(config, {testing::AtMs(0), WallTime{}});
  DaemonCounters counters;
  SelfInfo self;
  for (const std::size_t limit : {std::size_t{0}, std::size_t{2}, std::size_t{3}, SIZE_MAX}) {
    SCOPED_TRACE(limit);
    const std::size_t with = std::min<std::size_t>(limit, 3);
    const std::string text = RenderMetrics(node, counters, self, {testing::AtMs(10), WallTime{}},
                                           nullptr, nullptr, limit);
    EXPECT_EQ(Samples(text, "vigil_peer_up"), with);
    EXPECT_EQ(Samples(text, "vigil_peer_state"), with * 5);  // one per state
    EXPECT_EQ(Samples(text, "vigil_peer_flaps_total"), with);
    EXPECT_NE(text.find(fmt::format("vigil_peers_without_series {}\n", 3 - with)),
              std::string::npos);
    // The first in `peers:` order.
    EXPECT_EQ(text.find("vigil_peer_up{peer=\"p1\"}") != std::string::npos, with >= 1);
    EXPECT_EQ(text.find("vigil_peer_up{peer=\"p3\"}") != std::string::npos, with >= 3);
    EXPECT_EQ(Samples(text, "vigil_peers"), 5u);  // the aggregate, whatever the limit
  }
}

}  // namespace
}  // namespace vigil
