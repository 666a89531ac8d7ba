// MemberSync (docs/membership.md, "Joining"): the pulls a joiner plans from a census, how
// many wait at a time, when one is done, and what is pulled again.
#include "membership/member_sync.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::membership {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const MonoTime kT0 = MonoTime{} + seconds(1000);

std::vector<Pull> Pulls(const std::vector<std::pair<std::string, Pull>>& sent) {
  std::vector<Pull> pulls;
  for (const auto& [to, p] : sent) pulls.push_back(p);
  return pulls;
}

TEST(MemberSync, PlansRangesOfAbout200MembersFourAtATime) {
  MemberSync sync(MemberSync::Options{});
  EXPECT_FALSE(sync.planned());
  sync.Plan(1000);
  sync.Plan(10);  // only the first census plans
  const auto sent = sync.Due(kT0, [] { return std::string("s"); });
  EXPECT_EQ(Pulls(sent), (std::vector<Pull>{{0, 50}, {51, 101}, {102, 152}, {153, 203}}));
  EXPECT_EQ(sync.NextDeadline(), kT0 + seconds(1));
  EXPECT_FALSE(sync.done());
  // Nobody to ask: nothing is sent, and nothing is lost.
  MemberSync alone(MemberSync::Options{});
  alone.Plan(5);
  EXPECT_TRUE(alone.Due(kT0, [] { return std::string(); }).empty());
  EXPECT_EQ(Pulls(alone.Due(kT0, [] { return std::string("s"); })),
            (std::vector<Pull>{{0, 255}}));
}

TEST(MemberSync, APullIsDoneWhenItsCensusAndAsManyMembersCame) {
  MemberSync sync(MemberSync::Options{});
  sync.Plan(3);
  ASSERT_EQ(sync.Due(kT0, [] { return std::string("s"); }).size(), 1u);
  sync.OnMember("s", 7);
  sync.OnMember("other", 8);  // from another member: not this pull's
  sync.OnCensus("s", Census{false, 0, 255, 2});
  EXPECT_FALSE(sync.done());
  sync.OnMember("s", 9);
  EXPECT_TRUE(sync.done());
  EXPECT_EQ(sync.pulls_retried(), 0u);
}

TEST(MemberSync, ARangeOfMoreThanOneAnswerIsCutInTwoAtOnce) {
  MemberSync sync(MemberSync::Options{});
  sync.Plan(1000);
  sync.Due(kT0, [] { return std::string("s"); });
  sync.OnCensus("s", Census{false, 0, 50, kMostListed + 1});
  // Room for one more, and the halves come first.
  EXPECT_EQ(Pulls(sync.Due(kT0, [] { return std::string("t"); })),
            (std::vector<Pull>{{0, 25}}));
  EXPECT_EQ(sync.pulls_retried(), 0u);
}

TEST(MemberSync, OneBucketOfMoreThanOneAnswerIsDoneWithOneAnswer) {
  MemberSync sync(MemberSync::Options{});
  sync.Plan(200 * 256);  // one bucket a pull
  const auto sent = sync.Due(kT0, [] { return std::string("s"); });
  ASSERT_EQ(Pulls(sent).front(), (Pull{0, 0}));
  sync.OnCensus("s", Census{false, 0, 0, 700});
  for (std::uint32_t i = 0; i < kMostListed; ++i) sync.OnMember("s", 0);
  // Done: three wait now, and the fourth slot went to the next range.
  EXPECT_EQ(Pulls(sync.Due(kT0, [] { return std::string("s"); })),
            (std::vector<Pull>{{4, 4}}));
}

TEST(MemberSync, AnUnansweredPullGoesAgainAfterTheTimeout) {
  MemberSync sync(MemberSync::Options{});
  sync.Plan(3);
  sync.Due(kT0, [] { return std::string("s"); });
  EXPECT_TRUE(sync.Due(kT0 + milliseconds(999), [] { return std::string("t"); }).empty());
  const auto again = sync.Due(kT0 + seconds(1), [] { return std::string("t"); });
  EXPECT_EQ(Pulls(again), (std::vector<Pull>{{0, 127}, {128, 255}}));
  EXPECT_EQ(sync.pulls_retried(), 1u);
  EXPECT_EQ(sync.pulls_sent(), 3u);
}

}  // namespace
}  // namespace vigil::membership
