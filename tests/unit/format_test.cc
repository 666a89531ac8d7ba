#include <gtest/gtest.h>

#include "ctl/api_client.h"
#include "ctl/format.h"

namespace vigil {
namespace {

TEST(FormatAgo, HumanUnits) {
  EXPECT_EQ(FormatAgo(-5000), "now");  // a clock that went back never shows negative
  EXPECT_EQ(FormatAgo(0), "now");
  EXPECT_EQ(FormatAgo(999), "now");
  EXPECT_EQ(FormatAgo(3000), "3s ago");
  EXPECT_EQ(FormatAgo(119000), "119s ago");
  EXPECT_EQ(FormatAgo(12 * 60000), "12m ago");
  EXPECT_EQ(FormatAgo(2 * 3600000 - 60000), "119m ago");
  EXPECT_EQ(FormatAgo(2 * 3600000), "2h ago");
  EXPECT_EQ(FormatAgo(3 * 3600000), "3h ago");
  EXPECT_EQ(FormatAgo(5LL * 86400000), "5d ago");
}

TEST(FormatTable, AlignsColumns) {
  EXPECT_EQ(FormatTable({{"A", "BB"}, {"ccc", "d"}}), "A    BB\nccc  d\n");
}

TEST(SseParser, ParsesEventsAcrossChunkBoundaries) {
  SseParser p;
  std::vector<SseEvent> got;
  auto sink = [&](const SseEvent& e) { got.push_back(e); };
  const std::string stream =
      "retry: 1000\n\n: keep-alive\n\nid: 7\nevent: transition\ndata: {\"a\":1}\n\n"
      "id: 8\r\ndata: x\r\ndata: y\r\n\r\n";
  for (char c : stream) p.Feed(std::string_view(&c, 1), sink);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, "7");
  EXPECT_EQ(got[0].event, "transition");
  EXPECT_EQ(got[0].data, "{\"a\":1}");
  EXPECT_EQ(got[1].id, "8");
  EXPECT_EQ(got[1].event, "message");
  EXPECT_EQ(got[1].data, "x\ny");
  EXPECT_EQ(p.last_event_id(), "8");
}

// An event with an id and no data is not an event to handle, but its id is where to resume.
TEST(SseParser, AnEventWithOnlyAnIdMovesTheLastEventId) {
  SseParser p;
  std::vector<SseEvent> got;
  auto sink = [&](const SseEvent& e) { got.push_back(e); };
  p.Feed("id: 4\nevent: state\ndata: {}\n\nevent: state\ndata: {}\n\n", sink);
  EXPECT_EQ(p.last_event_id(), "4");  // an event without an id line leaves it
  p.Feed("id: 12\n", sink);
  EXPECT_EQ(p.last_event_id(), "4");  // not before the event is complete
  p.Feed("\n", sink);
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(p.last_event_id(), "12");
}

}  // namespace
}  // namespace vigil
