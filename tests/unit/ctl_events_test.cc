// How vigilctl wait and watch read the event stream of a resumed connection: the backoff
// between reconnection attempts, the `gap` and `state` events, and what wait decides.
#include <gtest/gtest.h>

#include <vector>

#include "ctl/api_client.h"
#include "ctl/event_follow.h"
#include "ctl/event_view.h"

namespace vigil {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesFromAHundredMillisecondsToTwoSecondsAndResets) {
  Backoff b;
  std::vector<long long> got;
  for (int i = 0; i < 8; ++i) got.push_back(b.Next().count());
  EXPECT_EQ(got, (std::vector<long long>{100, 200, 400, 800, 1600, 2000, 2000, 2000}));
  b.Reset();
  EXPECT_EQ(b.Next(), milliseconds(100));
}

// What daemon/event_resume.cc sends a client resuming with an id from an earlier run.
constexpr const char* kResumedPreamble =
    "retry: 1000\n\n"
    "event: gap\n"
    "data: {\"after\":1796293506648529,\"reason\":\"restart\",\"last_id\":1796293522180000}\n\n"
    "event: state\n"
    "data: {\"peer\":\"n2\",\"state\":\"up\",\"since\":1796293507649,\"incarnation\":7,"
    "\"last_heartbeat\":1796293522000}\n\n"
    "id: 1796293522180000\nevent: state\n"
    "data: {\"peer\":\"n3\",\"state\":\"down\",\"since\":1796293507649,\"incarnation\":0,"
    "\"last_heartbeat\":null}\n\n";

std::vector<SseEvent> Parse(const std::string& text) {
  SseParser p;
  std::vector<SseEvent> events;
  p.Feed(text, [&](const SseEvent& e) { events.push_back(e); });
  return events;
}

TEST(ResumedStream, ParsesAsAGapThenStatesTheLastOfWhichCarriesTheId) {
  const auto events = Parse(kResumedPreamble);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].event, "gap");
  EXPECT_EQ(events[0].id, "");  // does not move the resume point: states follow
  EXPECT_EQ(events[1].event, "state");
  EXPECT_EQ(events[1].id, "");
  EXPECT_EQ(events[2].event, "state");
  EXPECT_EQ(events[2].id, "1796293522180000");  // what the next reconnect resumes after
}

TEST(WaitCondition, IsMetByAStateEventAfterAGap) {
  const auto events = Parse(kResumedPreamble);
  // The peer is already up after the restart: no transition will come, the state says so.
  EXPECT_FALSE(WaitCondition("n2", "up").ReachedBy(events[0]));
  EXPECT_TRUE(WaitCondition("n2", "up").ReachedBy(events[1]));
  EXPECT_FALSE(WaitCondition("n2", "down").ReachedBy(events[1]));
  EXPECT_FALSE(WaitCondition("n3", "up").ReachedBy(events[1]));  // another peer's state
  EXPECT_TRUE(WaitCondition("n3", "down").ReachedBy(events[2]));
}

TEST(WaitCondition, IsMetByATransitionIntoTheState) {
  const auto events = Parse(
      "id: 5\nevent: transition\ndata: {\"id\":5,\"peer\":\"n2\",\"from\":\"up\",\"to\":\"down\","
      "\"reason\":\"silence\",\"time\":1795887209412,\"phi\":8,\"incarnation\":1}\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(WaitCondition("n2", "down").ReachedBy(events[0]));
  EXPECT_FALSE(WaitCondition("n2", "up").ReachedBy(events[0]));  // from is not to
  EXPECT_FALSE(WaitCondition("n3", "down").ReachedBy(events[0]));
}


TEST(WaitCondition, IsMetByAMemberEventIntoTheState) {
  const auto events = Parse(
      "id: 7\nevent: member\ndata: {\"id\":7,\"member\":\"n4\",\"from\":\"suspect\",\"to\":"
      "\"down\",\"reason\":\"agreement\",\"time\":1796432150420,\"incarnation\":1,"
      "\"reports\":3,\"observers\":3}\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(WaitCondition("n4", "down").ReachedBy(events[0]));
  EXPECT_FALSE(WaitCondition("n4", "suspect").ReachedBy(events[0]));  // from is not to
  EXPECT_FALSE(WaitCondition("n5", "down").ReachedBy(events[0]));     // another member
}
TEST(WatchText, ShowsTheGapAndThenEachCurrentState) {
  const auto events = Parse(kResumedPreamble);
  EXPECT_EQ(*WatchText(events[0]),
            "gap: vigild restarted and does not keep the events of its previous run after "
            "#1796293506648529; current state of every peer follows");
  const std::string n2 = *WatchText(events[1]);
  EXPECT_NE(n2.find("  state  n2  up  (since "), std::string::npos) << n2;
  EXPECT_NE(n2.find("incarnation 7)"), std::string::npos) << n2;
  EXPECT_NE(WatchText(events[2])->find("last heartbeat never"), std::string::npos);
}

TEST(WatchText, NamesEachReasonForAGap) {
  auto gap = [](const std::string& data) {
    SseEvent e;
    e.event = "gap";
    e.data = data;
    return *WatchText(e);
  };
  EXPECT_NE(gap(R"({"after":3,"reason":"evicted","last_id":9000})").find("events.ring_size"),
            std::string::npos);
  EXPECT_NE(gap(R"({"after":3,"reason":"unknown","last_id":2})").find("never issued event #3"),
            std::string::npos);
  // A vigild from before the state events: no promise of a state that will not follow.
  EXPECT_NE(gap(R"({"after":3})").find("'vigilctl status' shows the current state"),
            std::string::npos);
}

TEST(WatchJson, TagsGapAndStateEventsAndLeavesTransitionsAsSent) {
  const auto events = Parse(kResumedPreamble);
  EXPECT_EQ(WatchJson(events[0])->rfind("{\"event\":\"gap\",\"after\":1796293506648529", 0), 0u);
  EXPECT_EQ(WatchJson(events[1])->rfind("{\"event\":\"state\",\"peer\":\"n2\"", 0), 0u);
  SseEvent t;
  t.event = "transition";
  t.data = R"({"id":5,"peer":"n2"})";
  EXPECT_EQ(*WatchJson(t), t.data);
}

// docs/api.md's example of a member's removal, as vigilctl watch prints it.
TEST(WatchText, ShowsAMembersChangeWithTheAgreementBehindIt) {
  SseEvent m;
  m.event = "member";
  m.data = R"({"id":1796432087123490,"member":"n4","from":"suspect","to":"down",)"
           R"("reason":"agreement","time":1796432150420,"incarnation":1796432089000000,)"
           R"("reports":3,"observers":3})";
  const std::string line = *WatchText(m);
  EXPECT_NE(line.find("  #1796432087123490  member n4  suspect -> down  (agreement 3/3, "
                      "incarnation 1796432089000000)"),
            std::string::npos)
      << line;
  EXPECT_EQ(WatchJson(m)->rfind("{\"event\":\"member\",\"id\":1796432087123490", 0), 0u);
  m.data = R"({"id":7,"member":"n5","from":"unknown","to":"up","reason":"admitted",)"
           R"("time":1796432150420,"incarnation":null,"reports":null,"observers":null})";
  EXPECT_NE(WatchText(m)->find("member n5  unknown -> up  (admitted, incarnation -)"),
            std::string::npos)
      << *WatchText(m);
}

}  // namespace
}  // namespace vigil
