// GET /v1/peers filters and paging (daemon/peer_page.h), and the route's 400s.
#include "daemon/peer_page.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "daemon/api_router.h"
#include "tests/daemon/enrolling_node.h"

namespace vigil {
namespace {

using testing::EnrollingConfig;
using testing::Heartbeat;
using testing::Ring;
using testing::T;

class PeerPageTest : public ::testing::Test {
 protected:
  PeerPageTest()
      : ring(Ring(GenerateKeyBase64())),
        node(EnrollingConfig("enabled: true, retention: 5s"), T(0)) {
    node.SetAuthentication(ring, true);
  }
  void Send(const std::string& id, double at) {
    ASSERT_FALSE(node.OnDatagram(Heartbeat(&ring.primary(), id, 7, ++sequence[id]), false, T(at)))
        << id;
  }
  // The ids of one page, and its cursor ("" when it is the last page).
  std::vector<std::string> Page(const std::string& query, std::string* cursor, double at) {
    const auto q = ParsePeerQuery(query);
    EXPECT_TRUE(q) << q.message();
    const auto page = PeersPageJson(node, T(at), *q);
    std::vector<std::string> ids;
    for (const auto& p : page.at("peers").as_array()) {
      ids.emplace_back(p.as_object().at("id").as_string());
    }
    const auto& next = page.at("next_cursor");
    *cursor = next.is_null() ? "" : std::string(next.as_string());
    return ids;
  }

  Keyring ring;
  Node node;
  std::map<std::string, std::uint64_t> sequence;
};

TEST_F(PeerPageTest, PagingReturnsEveryPeerPresentThroughoutExactlyOnce) {
  std::vector<std::string> alive;
  for (int i = 0; i < 20; ++i) {
    Send("u" + std::to_string(i), 0);
    if (i != 1 && i != 3) alive.push_back("u" + std::to_string(i));
  }
  std::multiset<std::string> seen;
  std::string cursor;
  std::string query = "limit=3";
  int pages = 0;
  double at = 100;
  do {
    for (const auto& id : Page(query, &cursor, at)) seen.insert(id);
    ++pages;
    // Between pages peers come and go: a newcomer each time, and two that go silent and
    // are forgotten (u1, u3: sent nothing since the start).
    alive.push_back("new" + std::to_string(pages));
    for (const auto& id : alive) Send(id, at);
    at += 700;
    node.RunDue(T(at));
    if (pages == 3) {
      EXPECT_EQ(node.ForgetSilent(T(6'000)), 2u);
    }
    query = "limit=3&cursor=" + cursor;
  } while (!cursor.empty() && pages < 50);
  EXPECT_GT(pages, 7);
  for (int i = 0; i < 20; ++i) {
    if (i == 1 || i == 3) continue;
    EXPECT_EQ(seen.count("u" + std::to_string(i)), 1u) << "u" << i;
  }
  EXPECT_EQ(seen.count("a"), 1u);  // the listed peer comes first
  for (const auto& id : seen) EXPECT_EQ(seen.count(id), 1u) << id;
}

TEST_F(PeerPageTest, FiltersSelectByStatePrefixAndLastSeen) {
  Send("user-1", 0);
  Send("user-2", 0);
  Send("bot-1", 0);
  Send("user-1", 400);
  node.RunDue(T(600));  // user-2 and bot-1 down (500 ms timeout); user-1 up; a unknown
  std::string cursor;
  EXPECT_EQ(Page("state=down", &cursor, 600), (std::vector<std::string>{"user-2", "bot-1"}));
  EXPECT_EQ(Page("state=down&prefix=user-", &cursor, 600), (std::vector<std::string>{"user-2"}));
  EXPECT_EQ(Page("prefix=user-", &cursor, 600),
            (std::vector<std::string>{"user-1", "user-2"}));
  // Not seen since 1.8e12 + 200 ms: heard before it (user-2, bot-1) or never (a).
  EXPECT_EQ(Page("not_seen_since=1800000000200", &cursor, 600),
            (std::vector<std::string>{"a", "user-2", "bot-1"}));
  EXPECT_EQ(cursor, "");
  EXPECT_EQ(Page("state=down&limit=1", &cursor, 600), (std::vector<std::string>{"user-2"}));
  EXPECT_NE(cursor, "");
  EXPECT_EQ(Page("state=down&limit=1&cursor=" + cursor, &cursor, 600),
            (std::vector<std::string>{"bot-1"}));
}

TEST_F(PeerPageTest, ABadParameterIsA400NamingIt) {
  const DaemonCounters counters;
  const SelfInfo self;
  const ApiContext ctx{node, counters, self, T(0)};
  for (const auto& [query, words] : std::vector<std::pair<std::string, std::string>>{
           {"limit=0", "limit: expected a whole number from 1 to 100000"},
           {"limit=x", "limit:"},
           {"state=sleeping", "state: expected unknown, up, suspect, down or left"},
           {"prefix=a%20b", "prefix: expected id characters"},
           {"cursor=zz", "cursor: not a cursor this API returned"},
           {"not_seen_since=-1", "not_seen_since:"},
           {"colour=red", "unknown query parameter 'colour'"}}) {
    const ApiResponse r = Route("GET", "/v1/peers?" + query, std::nullopt, ctx);
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_NE(r.body.find(words), std::string::npos) << query << ": " << r.body;
  }
  EXPECT_EQ(Route("GET", "/v1/peers", std::nullopt, ctx).status, 200);
  EXPECT_EQ(Route("GET", "/v1/peers?", std::nullopt, ctx).status, 200);
}

}  // namespace
}  // namespace vigil
