#include <gtest/gtest.h>

#include "daemon/event_ring.h"

#include "daemon/api_json.h"
#include "daemon/event_resume.h"
#include "json/json_text.h"

namespace vigil {
namespace {

EventRecord E(std::uint64_t id) {
  EventRecord e;
  e.id = id;
  e.peer = "p";
  return e;
}

std::vector<std::uint64_t> Ids(const std::vector<EventRecord>& v) {
  std::vector<std::uint64_t> out;
  for (const auto& e : v) out.push_back(e.id);
  return out;
}

TEST(EventRing, ReturnsEventsAfterAnId) {
  EventRing ring(10);
  for (std::uint64_t i = 1; i <= 5; ++i) ring.Push(E(i));
  bool gap = true;
  EXPECT_EQ(Ids(ring.After(0, &gap)), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(gap);
  EXPECT_EQ(Ids(ring.After(3, &gap)), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_TRUE(ring.After(5, &gap).empty());
  EXPECT_TRUE(ring.After(99, &gap).empty());
  EXPECT_EQ(ring.last_id(), 5u);
}

TEST(EventRing, IsBoundedAndReportsGaps) {
  EventRing ring(3);
  for (std::uint64_t i = 1; i <= 10; ++i) ring.Push(E(i));
  EXPECT_EQ(ring.size(), 3u);
  bool gap = false;
  EXPECT_EQ(Ids(ring.After(2, &gap)), (std::vector<std::uint64_t>{8, 9, 10}));
  EXPECT_TRUE(gap);  // 3..7 are gone
  EXPECT_EQ(Ids(ring.After(7, &gap)), (std::vector<std::uint64_t>{8, 9, 10}));
  EXPECT_FALSE(gap);
  ring.set_capacity(1);
  EXPECT_EQ(Ids(ring.After(0, &gap)), (std::vector<std::uint64_t>{10}));
  EXPECT_TRUE(gap);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// docs/api.md, "event: member": a member's removal and admission as the stream sends them
// (nulls where nothing is known), and no bigger a record than a peer's transition needs.
TEST(MemberEvent, IsSentAsDocumentedWithItsNulls) {
  EventRecord e;
  e.id = 1796432087123490;
  e.member = true;
  e.peer = "n4";
  e.from = PeerState::kSuspect;
  e.to = PeerState::kDown;
  e.member_reason = MemberReason::kAgreement;
  e.reports = 3;
  e.observers = 3;
  e.wall_ms = 1796432150420;
  e.incarnation = 1796432089000000;
  EXPECT_EQ(FormatSseEvent(e),
            "id: 1796432087123490\nevent: member\ndata: {\"id\":1796432087123490,"
            "\"member\":\"n4\",\"from\":\"suspect\",\"to\":\"down\",\"reason\":\"agreement\","
            "\"time\":1796432150420,\"incarnation\":1796432089000000,\"reports\":3,"
            "\"observers\":3}\n\n");
  EventRecord back;
  back.id = 7;
  back.member = true;
  back.peer = "n5";
  back.to = PeerState::kUp;
  back.wall_ms = 5;
  EXPECT_EQ(ToJsonText(EventJson(back)),
            "{\"id\":7,\"member\":\"n5\",\"from\":\"unknown\",\"to\":\"up\",\"reason\":"
            "\"admitted\",\"time\":5,\"incarnation\":null,\"reports\":null,\"observers\":null}");
  // A peer's transition is still a transition.
  EventRecord peer;
  peer.peer = "node3";
  EXPECT_EQ(FormatSseEvent(peer).rfind("id: 0\nevent: transition\n", 0), 0u);
  EXPECT_LE(sizeof(EventRecord), 72u);
}

}  // namespace
}  // namespace vigil
