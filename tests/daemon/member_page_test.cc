// GET /v1/members (docs/api.md): the query parameters, the entries (state, provenance,
// reports, last heartbeat), paging by cursor, and the cluster object's counts, on
// ClusterMembers driven without sockets.
#include "daemon/member_page.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <string>
#include <vector>

#include "daemon/cluster_json.h"
#include "tests/daemon/cluster_member_fixture.h"

namespace vigil {
namespace {

namespace json = boost::json;

TEST(MemberQuery, ParsesEachParameterAndNamesTheBadOne) {
  const auto q = ParseMemberQuery("state=suspect&prefix=web-&limit=10&cursor=mweb-3");
  ASSERT_TRUE(q) << q.message();
  EXPECT_EQ(q->state, membership::MemberState::kSuspect);
  EXPECT_EQ(q->prefix, "web-");
  EXPECT_EQ(q->limit, 10u);
  EXPECT_EQ(q->after, "web-3");
  EXPECT_EQ(ParseMemberQuery("state=unknown").message(),
            "state: expected up, suspect, down or left, found 'unknown'");
  EXPECT_EQ(ParseMemberQuery("limit=0").message(),
            "limit: expected a whole number from 1 to 100000, found 0");
  EXPECT_EQ(ParseMemberQuery("cursor=p12").message(),
            "cursor: not a cursor this API returned: 'p12'");
  EXPECT_EQ(ParseMemberQuery("cursor=m").message(), "cursor: not a cursor this API returned: 'm'");
  EXPECT_EQ(ParseMemberQuery("prefix=a/b").message(),
            "prefix: expected id characters (letters, digits, '.', '_', '-'), found 'a/b'");
  EXPECT_EQ(ParseMemberQuery("watched=1").message(),
            "unknown query parameter 'watched'; expected state, prefix, limit or cursor");
}

class MemberPageTest : public ClusterMemberTest {
 protected:
  Timestamp Now() const { return Timestamp{now_, WallTime{} + std::chrono::hours(500000)}; }
  json::object Page(int n, const std::string& query) {
    const auto q = ParseMemberQuery(query);
    EXPECT_TRUE(q) << q.message();
    return json::parse(MembersPageText(M(n), Now(), *q)).as_object();
  }
  static std::vector<std::string> Ids(const json::object& page) {
    std::vector<std::string> ids;
    for (const auto& e : page.at("list").as_array()) {
      ids.emplace_back(e.as_object().at("id").as_string());
    }
    return ids;
  }
  static const json::object& Find(const json::object& page, const std::string& id) {
    for (const auto& e : page.at("list").as_array()) {
      if (e.as_object().at("id").as_string() == id) return e.as_object();
    }
    static const json::object none;
    ADD_FAILURE() << "no entry for " << id;
    return none;
  }
};

TEST_F(MemberPageTest, ListsEveryMemberByIdWithHowThisNodeKnowsIt) {
  ASSERT_TRUE(InitCrypto());
  const std::string key = GenerateKeyBase64();
  for (int n = 1; n <= 4; ++n) Add(n, key);
  Run(seconds(10));
  Run(seconds(15), "m3");
  const json::object page = Page(1, "");
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
  EXPECT_EQ(page.at("members").as_int64(), 3);
  EXPECT_EQ(page.at("down").as_int64(), 1);
  EXPECT_EQ(page.at("taken_out").as_int64(), 1);
  EXPECT_EQ(page.at("suspect").as_int64(), 0);
  EXPECT_EQ(page.at("watched").as_int64(), 2);  // K = 2 in a cluster of 3
  EXPECT_DOUBLE_EQ(page.at("reach").as_double(), 0.75);
  EXPECT_TRUE(page.at("majority").as_bool());
  EXPECT_TRUE(page.at("next_cursor").is_null());
  EXPECT_EQ(Find(page, "m1").at("provenance").as_string(), "self");
  EXPECT_TRUE(Find(page, "m1").at("last_heartbeat").is_null());
  const json::object& two = Find(page, "m2");
  EXPECT_EQ(two.at("state").as_string(), "up");
  EXPECT_EQ(two.at("provenance").as_string(), "watched");
  EXPECT_EQ(two.at("reports").as_int64(), 0);
  EXPECT_EQ(two.at("observers").as_int64(), 2);
  // Heard within the last interval (100 ms), on the wall clock of Now().
  const std::int64_t now_ms = EpochMillis(Now().wall);
  EXPECT_LE(now_ms - two.at("last_heartbeat").as_int64(), 100);
  // Taken out when every one of its 3 observers agreed; m1 was one of them.
  const json::object& three = Find(page, "m3");
  EXPECT_EQ(three.at("state").as_string(), "down");
  EXPECT_EQ(three.at("provenance").as_string(), "agreement");
  EXPECT_EQ(three.at("reports").as_int64(), 3);
  EXPECT_EQ(three.at("observers").as_int64(), 3);
  EXPECT_LT(three.at("last_heartbeat").as_int64(), three.at("since").as_int64());
  EXPECT_GE(now_ms - three.at("last_heartbeat").as_int64(), 14000);
}

TEST_F(MemberPageTest, PagesFollowTheCursorInIdOrderAndFilterByState) {
  ASSERT_TRUE(InitCrypto());
  const std::string key = GenerateKeyBase64();
  for (int n = 1; n <= 5; ++n) Add(n, key);
  Run(seconds(10));
  Run(seconds(15), "m4");
  std::vector<std::string> seen;
  std::string query = "limit=2";
  for (int pages = 0; pages < 10; ++pages) {
    const json::object page = Page(2, query);
    for (auto& id : Ids(page)) seen.push_back(id);
    if (page.at("next_cursor").is_null()) break;
    EXPECT_EQ(Ids(page).size(), 2u);
    query = "limit=2&cursor=" + std::string(page.at("next_cursor").as_string());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"m1", "m2", "m3", "m4", "m5"}));
  EXPECT_EQ(Ids(Page(2, "state=down")), std::vector<std::string>{"m4"});
  EXPECT_EQ(Ids(Page(2, "state=up&prefix=m")).size(), 4u);
  EXPECT_TRUE(Ids(Page(2, "state=left")).empty());
  EXPECT_EQ(Ids(Page(2, "cursor=mm3")), (std::vector<std::string>{"m4", "m5"}));
  EXPECT_EQ(Ids(Page(2, "prefix=m5")), std::vector<std::string>{"m5"});
}

TEST_F(MemberPageTest, WrittenInPiecesAsWholeAndSkipsAMemberGoneMeanwhile) {
  ASSERT_TRUE(InitCrypto());
  const std::string key = GenerateKeyBase64();
  for (int n = 1; n <= 4; ++n) Add(n, key);
  Run(seconds(10));
  MemberListWriter whole({}, M(1));
  std::string all;
  while (!whole.WriteNext(M(1), Now(), all)) {
  }
  MemberListWriter pieces({}, M(1));
  std::string out;
  int calls = 0;
  while (!pieces.WriteNext(M(1), Now(), out, 1)) ++calls;
  EXPECT_GE(calls, 3);
  EXPECT_EQ(out, all);
  // A writer made before a member leaves the view lists what is there when it writes.
  MemberListWriter later({}, M(1));
  Run(seconds(15), "m3");
  std::string after;
  while (!later.WriteNext(M(1), Now(), after)) {
  }
  const json::object page = json::parse(after).as_object();
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
  EXPECT_EQ(Find(page, "m3").at("state").as_string(), "down");
}

// While it copies the list, a member cannot say what share of the cluster it holds; the
// only member of a cluster has no observers, and no report about it.
TEST_F(MemberPageTest, AJoiningMemberSaysNothingOfAMajorityAndALoneOneHasNoObservers) {
  ASSERT_TRUE(InitCrypto());
  Add(1, GenerateKeyBase64());
  const json::value joining = ClusterJson(M(1), now_);
  EXPECT_TRUE(joining.at("syncing").as_bool());
  EXPECT_TRUE(joining.at("reach").is_null());
  EXPECT_TRUE(joining.at("majority").is_null());
  Run(seconds(4));  // welcomed by nobody: a cluster of its own
  const json::object page = Page(1, "");
  EXPECT_FALSE(page.at("syncing").as_bool());
  EXPECT_TRUE(page.at("majority").as_bool());
  EXPECT_EQ(Find(page, "m1").at("observers").as_int64(), 0);
  EXPECT_EQ(Find(page, "m1").at("reports").as_int64(), 0);
}

// Half of the cluster gone: the survivors hold half of what they knew, not a majority.
TEST_F(MemberPageTest, SurvivorsOfHalfTheClusterSayTheyAreNoMajority) {
  ASSERT_TRUE(InitCrypto());
  const std::string key = GenerateKeyBase64();
  for (int n = 1; n <= 4; ++n) Add(n, key);
  Run(seconds(10));
  drop_ = [](const Datagram& g) {  // m3 and m4 cut off from m1 and m2, both ways
    const auto host = [](const udp::endpoint& e) { return e.address().to_v4().to_bytes()[3]; };
    return (host(g.from) <= 2) != (host(g.to) <= 2);
  };
  Run(seconds(20));
  for (int n : {1, 2}) {
    const json::value self = ClusterJson(M(n), now_);
    EXPECT_EQ(self.at("members").to_number<std::int64_t>(), 2) << n;
    EXPECT_EQ(self.at("down").to_number<std::int64_t>(), 2) << n;
    EXPECT_DOUBLE_EQ(self.at("reach").as_double(), 0.5) << n;
    EXPECT_FALSE(self.at("majority").as_bool()) << n;
  }
}

}  // namespace
}  // namespace vigil
