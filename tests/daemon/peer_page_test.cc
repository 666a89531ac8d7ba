// GET /v1/peers filters and paging (daemon/peer_page.h), and the route's 400s.
#include "daemon/peer_page.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

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
    const auto page = boost::json::parse(PeersPageText(node, T(at), *q)).as_object();
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

// One body written in small pieces while peers come and go between them keeps the paging
// promise: every peer present throughout exactly once, newcomers at the end, the forgotten
// not after they left; and every piece is bounded.
TEST_F(PeerPageTest, AStreamedBodyReturnsEveryPeerPresentThroughoutExactlyOnce) {
  std::vector<std::string> alive;
  for (int i = 0; i < 40; ++i) {
    Send("u" + std::to_string(i), 0);
    if (i % 10 != 1) alive.push_back("u" + std::to_string(i));
  }
  PeerListWriter writer(*ParsePeerQuery(""));
  std::string body;
  double at = 100;
  int pieces = 0;
  for (bool done = false; !done; ++pieces) {
    std::string piece;
    done = writer.WriteNext(node, T(at), piece, /*max_scan=*/5, /*max_peers=*/3);
    std::size_t peers_in_piece = 0;
    for (auto at_id = piece.find("\"id\":"); at_id != std::string::npos;
         at_id = piece.find("\"id\":", at_id + 1)) {
      ++peers_in_piece;
    }
    EXPECT_LE(peers_in_piece, 3u) << piece;
    body += piece;
    alive.push_back("new" + std::to_string(pieces));
    for (const auto& id : alive) Send(id, at);
    at += 700;
    node.RunDue(T(at));
    if (pieces == 3) {
      EXPECT_EQ(node.ForgetSilent(T(6'000)), 4u);  // u1, u11, u21, u31
    }
    ASSERT_LT(pieces, 200);
  }
  EXPECT_GT(pieces, 10);
  const auto doc = boost::json::parse(body).as_object();
  EXPECT_TRUE(doc.at("next_cursor").is_null());
  std::multiset<std::string> seen;
  for (const auto& p : doc.at("peers").as_array()) {
    seen.emplace(p.as_object().at("id").as_string());
  }
  for (int i = 0; i < 40; ++i) {
    if (i % 10 == 1) continue;
    EXPECT_EQ(seen.count("u" + std::to_string(i)), 1u) << "u" << i;
  }
  for (const auto& id : seen) EXPECT_EQ(seen.count(id), 1u) << id;
  EXPECT_EQ(seen.count("a"), 1u);
  EXPECT_GT(seen.count("new1"), 0u);  // arrived before the pieces reached the end
  std::string after;  // a finished writer appends nothing
  EXPECT_TRUE(writer.WriteNext(node, T(at), after));
  EXPECT_TRUE(after.empty());
}

TEST_F(PeerPageTest, ALimitEndsTheBodyWithACursorOnlyIfMoreMayFollow) {
  for (int i = 0; i < 6; ++i) Send("u" + std::to_string(i), 0);
  for (const auto& [query, ids, more] :
       std::vector<std::tuple<std::string, std::size_t, bool>>{
           {"limit=3", 3, true}, {"limit=7", 7, false}, {"limit=100", 7, false},
           {"prefix=u&limit=6", 6, false}, {"prefix=u&limit=5", 5, true}}) {
    PeerListWriter writer(*ParsePeerQuery(query));
    std::string body;
    while (!writer.WriteNext(node, T(10), body, 2, 1)) {
    }
    const auto doc = boost::json::parse(body).as_object();
    EXPECT_EQ(doc.at("peers").as_array().size(), ids) << query;
    EXPECT_EQ(!doc.at("next_cursor").is_null(), more) << query << ": " << body;
  }
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
