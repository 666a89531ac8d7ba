// Contacts (docs/membership.md, "Contacts"): where each member is travels with it in Join,
// Member and Alive records, the newest incarnation's contact wins, and a shell's guess from
// a datagram's source never overrides what a record said.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "membership/contact_book.h"
#include "membership/membership_node.h"

namespace vigil::membership {
namespace {

using std::chrono::seconds;

const MonoTime kT0 = MonoTime{} + seconds(1000);

std::vector<std::string> Ids(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back("m" + std::to_string(i));
  return ids;
}

TEST(ContactBook, TheNewestIncarnationWinsThenTheMostTrustedSource) {
  using Source = ContactBook::Source;
  ContactBook book;
  book.Note("a", "guessed", 5, Source::kGuessed);
  book.Note("a", "here", 5, Source::kListing);
  EXPECT_EQ(book.Find("a"), "here");
  book.Note("a", "guessed-again", 5, Source::kGuessed);
  book.Note("a", "stale", 4, Source::kItself);
  EXPECT_EQ(book.Find("a"), "here");
  book.Note("a", "listed-again", 5, Source::kListing);
  EXPECT_EQ(book.Find("a"), "here");
  book.Note("a", "heard", 5, Source::kHeard);
  EXPECT_EQ(book.Find("a"), "heard");
  book.Note("a", "its-own", 5, Source::kItself);
  EXPECT_EQ(book.Find("a"), "its-own");
  book.Note("a", "heard-again", 5, Source::kHeard);
  EXPECT_EQ(book.Find("a"), "its-own");
  book.Note("a", "moved", 6, Source::kListing);
  EXPECT_EQ(book.Find("a"), "moved");
  book.Note("a", "", 7, Source::kItself);
  EXPECT_EQ(book.Find("a"), "moved");
  book.Note("b", "", 1, Source::kItself);
  EXPECT_EQ(book.size(), 1u);
  EXPECT_EQ(book.Find("b"), "");
  book.Note("b", "there", 1, Source::kItself);
  book.Prune([](const std::string& id) { return id == "b"; });
  EXPECT_EQ(book.Find("a"), "");
  EXPECT_EQ(book.Find("b"), "there");
}

class ContactTest : public ::testing::Test {
 public:
  std::unique_ptr<MembershipNode> Member(const std::string& self, int n) {
    MembershipOptions o;
    o.self = self;
    o.contact = "at-" + self;
    graph_ = std::make_shared<const ObserverGraph>(ObserverGraph::Build(Ids(n), 8));
    return std::make_unique<MembershipNode>(o, graph_, source_, kT0);
  }
  GraphSource source_;
  std::shared_ptr<const ObserverGraph> graph_;
};

TEST_F(ContactTest, AJoinersContactIsKeptListedAndFlooded) {
  auto member = Member("m0", 40);
  EXPECT_EQ(member->Contact("m0"), "at-m0");
  Outbox out;
  member->OnGossip(Gossip{.joins = {{"new", 77, "at-new"}}}, "new", kT0, out);
  EXPECT_EQ(member->Contact("new"), "at-new");
  const Gossip& welcome = out.To("new");
  ASSERT_FALSE(welcome.members.empty());
  EXPECT_EQ(welcome.members[0], (Alive{"m0", 1, "at-m0"}));
  // Members it was built with came with no contact: listed without one.
  for (std::size_t i = 1; i < welcome.members.size(); ++i) {
    EXPECT_EQ(welcome.members[i].contact, "") << welcome.members[i].member;
  }
  out.clear();
  member->Tick(kT0 + MembershipOptions{}.pass_on_gather, out);
  std::size_t told = 0;
  for (const auto& [to, g] : out.gossip) {
    for (const Alive& a : g.alives) told += a == Alive{"new", 77, "at-new"} ? 1 : 0;
  }
  EXPECT_GT(told, 0u);
  // Admitted, and listed with its contact in the answer to a Pull of everything.
  member->Tick(kT0 + MembershipOptions{}.admission_batch, out);
  out.clear();
  member->OnGossip(Gossip{.pulls = {{0, 255}}}, "m1", kT0 + seconds(1), out);
  bool listed = false;
  for (const Alive& a : out.To("m1").members) listed |= a == Alive{"new", 77, "at-new"};
  EXPECT_TRUE(listed);
}

TEST_F(ContactTest, AJoinerLearnsContactsFromItsWelcome) {
  MembershipOptions o;
  o.self = "j";
  o.contact = "at-j";
  o.seeds = {"m0"};
  o.incarnation = 5000;
  MembershipNode joiner(o, source_, kT0);
  Outbox out;
  joiner.Tick(kT0, out);
  ASSERT_EQ(out.To("m0").joins, (std::vector<Alive>{{"j", 5000, "at-j"}}));
  out.clear();
  joiner.OnGossip(Gossip{.members = {{"m0", 3, "at-m0"}, {"m7", 2, "at-m7"}},
                         .censuses = {{true, 0, 255, 3}}},
                  "m0", kT0, out);
  EXPECT_EQ(joiner.Contact("m0"), "at-m0");
  EXPECT_EQ(joiner.Contact("m7"), "at-m7");
  EXPECT_EQ(joiner.Contact("m9"), "");
}

TEST_F(ContactTest, TheMembersOwnWordWinsAtOneIncarnationAndANewerOneMovesIt) {
  auto member = Member("m0", 20);
  member->LearnContact("m5", "source-of-m5", 9);
  EXPECT_EQ(member->Contact("m5"), "source-of-m5");
  member->LearnContact("m5", "another-source", 9);
  EXPECT_EQ(member->Contact("m5"), "source-of-m5");
  Outbox out;
  // m5's own record says where it is: that wins over where it was heard from, at 9.
  member->OnGossip(Gossip{.alives = {{"m5", 9, "at-m5"}}}, "m5", kT0, out);
  EXPECT_EQ(member->Contact("m5"), "at-m5");
  member->LearnContact("m5", "source-again", 9);
  EXPECT_EQ(member->Contact("m5"), "at-m5");
  // Another member's word does not move it at that incarnation, nor an older record.
  member->OnGossip(Gossip{.members = {{"m5", 9, "listed"}, {"m5", 8, "old-place"}}}, "m3", kT0,
                   out);
  EXPECT_EQ(member->Contact("m5"), "at-m5");
  // Restarted elsewhere: a newer incarnation, heard from its new address, moves it.
  member->LearnContact("m5", "new-place", 10);
  EXPECT_EQ(member->Contact("m5"), "new-place");
  // Where a membership datagram came from is a guess (it may be a replay from elsewhere):
  // a listing at the same incarnation replaces it, and it replaces nothing.
  member->LearnContact("m7", "guess", 3);
  EXPECT_EQ(member->Contact("m7"), "guess");
  member->OnGossip(Gossip{.members = {{"m7", 3, "listed"}}}, "m3", kT0, out);
  EXPECT_EQ(member->Contact("m7"), "listed");
  member->LearnContact("m7", "replayed-from-elsewhere", 3);
  EXPECT_EQ(member->Contact("m7"), "listed");
  // Nothing is newer than 2^64 - 1: a record there would pin it for ever.
  member->OnGossip(Gossip{.members = {{"m5", UINT64_MAX, "pinned"}}}, "m5", kT0, out);
  EXPECT_EQ(member->Contact("m5"), "new-place");
  member->LearnContact("m0", "not-me", 99);
  EXPECT_EQ(member->Contact("m0"), "at-m0");
}

TEST_F(ContactTest, AnObserverTakesWhereANewHeartbeatCameFromButNotAReplay) {
  auto member = Member("m0", 20);
  const ObserverGraph& g = member->view();
  const std::string subject = g.id(g.SubjectsOf(*g.Find("m0"))[0]);
  Outbox out;
  member->OnGossip(Gossip{.members = {{subject, 4, "listed"}}}, "m3", kT0, out);
  member->OnHeartbeat(subject, 4, 1, kT0, out, "heard");
  EXPECT_EQ(member->Contact(subject), "heard");
  // The same heartbeat again, from elsewhere: refused, and it moves nothing.
  member->OnHeartbeat(subject, 4, 1, kT0 + seconds(1), out, "replayed");
  EXPECT_EQ(member->Contact(subject), "heard");
  EXPECT_EQ(member->heartbeats_refused(), 1u);
  // An older incarnation's heartbeat is refused too.
  member->OnHeartbeat(subject, 3, 9, kT0 + seconds(1), out, "older");
  EXPECT_EQ(member->Contact(subject), "heard");
  EXPECT_EQ(member->heartbeats_refused(), 2u);
}

}  // namespace
}  // namespace vigil::membership
