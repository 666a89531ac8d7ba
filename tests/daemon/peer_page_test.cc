// GET /v1/peers filters and paging (daemon/peer_page.h), and the route's 400s.
#include "daemon/peer_page.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "daemon/api_router.h"
#include "daemon/event_resume.h"
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
  // Between pieces of a body: a newcomer, the `alive` heard again, 700 ms on; after the
  // fourth piece, the four of u0..u39 that never sent again are forgotten.
  void Churn(int pieces, std::vector<std::string>& alive, double& at) {
    alive.push_back("new" + std::to_string(pieces));
    for (const auto& id : alive) Send(id, at);
    at += 700;
    node.RunDue(T(at));
    if (pieces == 3) {
      EXPECT_EQ(node.ForgetSilent(T(6'000)), 4u);  // u1, u11, u21, u31
    }
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
    Churn(pieces, alive, at);
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

// The current-state preamble of a resuming event client keeps the same promise, in pieces
// bounded by peers and by bytes: the gap first, then every peer present throughout once.
TEST_F(PeerPageTest, AResumePreambleSendsEveryPeerPresentThroughoutOnceInBoundedPieces) {
  std::vector<std::string> alive;
  for (int i = 0; i < 40; ++i) {
    Send("u" + std::to_string(i), 0);
    if (i % 10 != 1) alive.push_back("u" + std::to_string(i));
  }
  const std::uint64_t unknown_id = node.last_event_id() + 1;
  ResumePreambleWriter writer(node, unknown_id);
  EXPECT_EQ(writer.gap(), GapReason::kUnknown);
  std::string head;  // max_peers 0: the gap alone
  EXPECT_FALSE(writer.WriteNext(node, head, SIZE_MAX, 0));
  EXPECT_EQ(head.rfind("event: gap\n", 0), 0u) << head;  // its id comes with the last state
  const std::string id_line = fmt::format("id: {}\n", node.last_event_id());
  EXPECT_EQ(head.find("event: state"), std::string::npos) << head;
  std::multiset<std::string> seen;
  double at = 100;
  int pieces = 0;
  for (bool done = false; !done; ++pieces) {
    std::string piece;
    // A state is about 120 bytes: a piece stops once past 200, after two (max_peers: 3).
    done = writer.WriteNext(node, piece, /*max_bytes=*/200, /*max_peers=*/3);
    EXPECT_EQ(piece.find("event: gap"), std::string::npos);
    // No id before the very end: the id, then the last state, ends the last piece.
    const auto id_at = piece.find("id: ");
    if (!done) {
      EXPECT_EQ(id_at, std::string::npos) << piece;
    } else {
      ASSERT_NE(id_at, std::string::npos) << piece;
      EXPECT_EQ(piece.compare(id_at, id_line.size(), id_line), 0) << piece;
      EXPECT_EQ(piece.find("event: state", id_at), id_at + id_line.size()) << piece;
      EXPECT_EQ(piece.find("event: state", id_at + id_line.size() + 1), std::string::npos);
    }
    std::size_t states = 0;
    for (auto pos = piece.find("event: state\ndata: "); pos != std::string::npos;
         pos = piece.find("event: state\ndata: ", pos + 1)) {
      const auto data = pos + std::string_view("event: state\ndata: ").size();
      const auto doc = boost::json::parse(piece.substr(data, piece.find('\n', data) - data));
      seen.emplace(doc.as_object().at("peer").as_string());
      ++states;
    }
    EXPECT_LE(states, 2u) << piece;
    EXPECT_TRUE(done || states >= 1) << piece;
    Churn(pieces, alive, at);
    ASSERT_LT(pieces, 400);
  }
  EXPECT_GT(pieces, 20);
  for (int i = 0; i < 40; ++i) {
    if (i % 10 == 1) continue;
    EXPECT_EQ(seen.count("u" + std::to_string(i)), 1u) << "u" << i;
  }
  for (const auto& id : seen) EXPECT_EQ(seen.count(id), 1u) << id;
  EXPECT_EQ(seen.count("a"), 1u);
  // The whole preamble at once says the same.
  const std::string whole = ResumePreamble(node, node.last_event_id() + 1);
  EXPECT_NE(whole.find("event: gap"), std::string::npos) << whole.substr(0, 300);
  EXPECT_NE(whole.find("event: state\ndata: {\"peer\":\"new1\""), std::string::npos);
  std::string after;  // a finished writer appends nothing
  EXPECT_TRUE(writer.WriteNext(node, after));
  EXPECT_TRUE(after.empty());
}

// A reload between pieces renumbers the listed peers: the states start over rather than
// skip anyone.
TEST_F(PeerPageTest, AReloadDuringAResumePreambleStartsTheStatesOver) {
  for (int i = 0; i < 6; ++i) Send("u" + std::to_string(i), 0);
  ResumePreambleWriter writer(node, node.last_event_id() + 1);
  std::string out;
  EXPECT_FALSE(writer.WriteNext(node, out, SIZE_MAX, 3));  // the gap, a, u0, u1
  Config next = EnrollingConfig("enabled: true, retention: 5s");
  node.Reconfigure(next, T(20));
  while (!writer.WriteNext(node, out, SIZE_MAX, 3)) {
  }
  std::map<std::string, int> states;
  for (auto pos = out.find("\"peer\":\""); pos != std::string::npos;
       pos = out.find("\"peer\":\"", pos + 1)) {
    const auto from = pos + 8;
    ++states[out.substr(from, out.find('"', from) - from)];
  }
  EXPECT_EQ(states["a"], 2) << out;  // sent before the reload, and again after it
  EXPECT_EQ(states["u0"], 2) << out;
  EXPECT_EQ(states["u1"], 2) << out;
  for (int i = 2; i < 6; ++i) EXPECT_EQ(states["u" + std::to_string(i)], 1) << out;
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
