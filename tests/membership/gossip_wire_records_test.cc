// The membership datagram's records for joining and anti-entropy (docs/membership.md,
// "Messages"): Join, Member, Removed, Pull, Census, Digest and Summary, each laid out by
// hand from the page's tables, round trips, their rejections, the 255-record limit, and the
// page's second example (a Welcome).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "membership/gossip_wire.h"
#include "tests/doc_table.h"

namespace vigil::membership {
namespace {

using Bytes = std::vector<std::uint8_t>;

void Put(Bytes& b, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void Put(Bytes& b, const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }

// An unsigned datagram from "x" (incarnation 1, sequence 1, echo 0) with `count` records.
Bytes Header(std::uint8_t count) {
  Bytes d = {0x56, 0x47, 3, 3, 0, 1, count, 0};
  Put(d, 1, 8);
  Put(d, 1, 8);
  Put(d, 0, 8);
  Put(d, "x");
  return d;
}

bool Decode(const Bytes& d, MembershipDatagram* out, GossipReject* why) {
  return DecodeGossip(d, nullptr, false, out, why);
}

Gossip Everything() {
  Gossip g;
  g.joins.push_back({"node-9", 77});
  g.members.push_back({"node-1", 5});
  g.members.push_back({"node-2", 6});
  g.removed.push_back({"node-4", 0});
  g.leaves.push_back({"node-5", 12});
  g.left.push_back({"node-6", 13});
  g.pulls.push_back({3, 9});
  g.censuses.push_back({true, 0, 255, 10000});
  g.censuses.push_back({false, 3, 9, 240});
  g.digests.push_back({10000, 0x0123456789abcdefULL});
  Summary s{true, 128, {}};
  for (std::uint16_t b = 0; b < 128; ++b) s.buckets.push_back({0xdead0000u + b, b});
  g.summaries.push_back(s);
  return g;
}

TEST(GossipWireRecords, LayoutIsTheDocumentedTables) {
  Bytes d = Header(9);
  d.insert(d.end(), {3, 6, 2});  // Join, with a 2-byte contact
  Put(d, 77, 8);
  Put(d, "node-9");
  Put(d, "c9");
  d.insert(d.end(), {4, 6, 0});  // Member
  Put(d, 5, 8);
  Put(d, "node-1");
  d.insert(d.end(), {5, 6, 0});  // Removed, incarnation 0
  Put(d, 0, 8);
  Put(d, "node-4");
  d.insert(d.end(), {10, 6, 0});  // Leave
  Put(d, 12, 8);
  Put(d, "node-5");
  d.insert(d.end(), {11, 6, 0});  // Left
  Put(d, 13, 8);
  Put(d, "node-6");
  d.insert(d.end(), {6, 3, 9});           // Pull
  d.insert(d.end(), {7, 1, 0, 255});      // Census, a Welcome
  Put(d, 10000, 4);
  d.insert(d.end(), {8, 0});              // Digest
  Put(d, 10000, 4);
  Put(d, 0x0123456789abcdefULL, 8);
  d.insert(d.end(), {9, 1, 254, 2});      // Summary of buckets 254, 255
  Put(d, 0xdeadbeef, 4);
  Put(d, 513, 2);
  Put(d, 7, 4);
  Put(d, 1, 2);
  MembershipDatagram out;
  GossipReject why{};
  ASSERT_TRUE(Decode(d, &out, &why)) << GossipRejectName(why);
  EXPECT_EQ(out.gossip.joins, (std::vector<Alive>{{"node-9", 77, "c9"}}));
  EXPECT_EQ(out.gossip.members, (std::vector<Alive>{{"node-1", 5}}));
  EXPECT_EQ(out.gossip.removed, (std::vector<Alive>{{"node-4", 0}}));
  EXPECT_EQ(out.gossip.leaves, (std::vector<Alive>{{"node-5", 12}}));
  EXPECT_EQ(out.gossip.left, (std::vector<Alive>{{"node-6", 13}}));
  EXPECT_EQ(out.gossip.pulls, (std::vector<Pull>{{3, 9}}));
  EXPECT_EQ(out.gossip.censuses, (std::vector<Census>{{true, 0, 255, 10000}}));
  EXPECT_EQ(out.gossip.digests, (std::vector<Digest>{{10000, 0x0123456789abcdefULL}}));
  const Summary expected{true, 254, {{0xdeadbeef, 513}, {7, 1}}};
  EXPECT_EQ(out.gossip.summaries, std::vector<Summary>{expected});
  EXPECT_TRUE(out.gossip.alives.empty() && out.gossip.reports.empty());
}

TEST(GossipWireRecords, RoundTripSplitsOnlyWhereTheyDoNotFit) {
  const Gossip g = Everything();
  auto datagrams = EncodeGossip(g, MembershipHeader{"node-3", 9, 1, 0}, nullptr);
  ASSERT_TRUE(datagrams.ok()) << datagrams.message();
  // 38 + 17 bytes of header and trailer, 135 of small records and a 772-byte summary: 962
  // bytes, one datagram.
  EXPECT_EQ(datagrams->size(), 1u);
  Gossip back;
  for (const auto& d : *datagrams) {
    EXPECT_LE(d.size(), kMaxMembershipDatagram);
    MembershipDatagram out;
    GossipReject why{};
    ASSERT_TRUE(Decode(d, &out, &why)) << GossipRejectName(why);
    back.Append(out.gossip);
  }
  EXPECT_EQ(back.joins, g.joins);
  EXPECT_EQ(back.members, g.members);
  EXPECT_EQ(back.removed, g.removed);
  EXPECT_EQ(back.leaves, g.leaves);
  EXPECT_EQ(back.left, g.left);
  EXPECT_EQ(back.pulls, g.pulls);
  EXPECT_EQ(back.censuses, g.censuses);
  EXPECT_EQ(back.digests, g.digests);
  EXPECT_EQ(back.summaries, g.summaries);
  // Two full summaries (772 bytes each) never share a datagram.
  Gossip two;
  two.summaries = {g.summaries[0], g.summaries[0]};
  EXPECT_EQ(SplitGossip(two, 6).size(), 2u);
}

TEST(GossipWireRecords, NoDatagramCarriesMoreThan255Records) {
  Gossip pulls;  // 3 bytes each: 300 would fit in bytes, not in the count byte
  for (int i = 0; i < 300; ++i) pulls.pulls.push_back({1, 2});
  const auto parts = SplitGossip(pulls, 1);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].gossip.pulls.size(), 255u);
  EXPECT_EQ(parts[1].gossip.pulls.size(), 45u);
  auto datagrams = EncodeGossip(pulls, MembershipHeader{"x", 1, 1, 0}, nullptr);
  ASSERT_TRUE(datagrams.ok());
  MembershipDatagram out;
  GossipReject why{};
  ASSERT_TRUE(Decode(datagrams->at(0), &out, &why)) << GossipRejectName(why);
  EXPECT_EQ(datagrams->at(0)[6], 255);
  EXPECT_EQ(out.gossip.pulls.size(), 255u);
}

TEST(GossipWireRecords, TheSmallestDatagramIsOnePull) {
  Bytes d = Header(1);
  d.insert(d.end(), {6, 0, 0});
  ASSERT_EQ(d.size(), 36u);
  MembershipDatagram out;
  GossipReject why{};
  EXPECT_TRUE(Decode(d, &out, &why)) << GossipRejectName(why);
  d.resize(35);
  EXPECT_FALSE(Decode(d, &out, &why));
  EXPECT_EQ(why, GossipReject::kTooShort);
}

struct BadRecord {
  const char* name;
  Bytes record;
  GossipReject expect;
  std::uint8_t count = 1;  // records in the datagram
};

TEST(GossipWireRecords, EachBadRecordIsRejected) {
  const std::vector<BadRecord> cases = {
      {"join of incarnation 0", {3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'y'}, GossipReject::kBadRecord},
      {"member of incarnation 0", {4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'y'},
       GossipReject::kBadRecord},
      {"removed id byte", {5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, '/'}, GossipReject::kBadRecord},
      {"leave of incarnation 0", {10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'y'},
       GossipReject::kBadRecord},
      {"leave with a contact", {10, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 'y', 'c'},
       GossipReject::kBadRecord},
      {"leave cut short", {10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'y'},
       GossipReject::kLengthMismatch},
      {"left of incarnation 0", {11, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'y'},
       GossipReject::kBadRecord},
      {"left with a contact", {11, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 'y', 'c'},
       GossipReject::kBadRecord},
      {"join cut short", {3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'y'}, GossipReject::kLengthMismatch},
      {"member contact of 33", {4, 1, 33, 0, 0, 0, 0, 0, 0, 0, 1, 'y'},
       GossipReject::kBadRecord},
      {"member contact cut short", {4, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 'y', 'c'},
       GossipReject::kLengthMismatch},
      {"pull 9..3", {6, 9, 3}, GossipReject::kBadRecord},
      {"pull cut short", {6, 0, 0, 6, 9}, GossipReject::kLengthMismatch, 2},
      {"census 9..3", {7, 0, 9, 3, 0, 0, 0, 1}, GossipReject::kBadRecord},
      {"census flag bit 1", {7, 2, 0, 3, 0, 0, 0, 1}, GossipReject::kBadRecord},
      {"welcome of 0..254", {7, 1, 0, 254, 0, 0, 0, 1}, GossipReject::kBadRecord},
      {"census cut short", {7, 0, 0, 3, 0, 0, 0}, GossipReject::kLengthMismatch},
      {"digest flags", {8, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, GossipReject::kBadRecord},
      {"digest cut short", {8, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, GossipReject::kLengthMismatch},
      {"summary of 0 buckets", {9, 0, 0, 0}, GossipReject::kBadRecord},
      {"summary flag bit 1", {9, 2, 0, 1, 0, 0, 0, 0, 0, 0}, GossipReject::kBadRecord},
      {"summary past 255", {9, 0, 255, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
       GossipReject::kBadRecord},
      {"summary cut short", {9, 0, 0, 2, 0, 0, 0, 0, 0, 0}, GossipReject::kLengthMismatch},
      {"summary cut short, bad flags too", {9, 2, 0, 2, 0, 0, 0, 0, 0, 0},
       GossipReject::kLengthMismatch},
  };
  for (const BadRecord& c : cases) {
    Bytes d = Header(c.count);
    d.insert(d.end(), c.record.begin(), c.record.end());
    MembershipDatagram out;
    GossipReject why = GossipReject::kCount;
    EXPECT_FALSE(Decode(d, &out, &why)) << c.name;
    EXPECT_EQ(GossipRejectName(why), GossipRejectName(c.expect)) << c.name;
  }
  Bytes too_many = Header(1);  // 129 buckets: more than a summary holds
  too_many.insert(too_many.end(), {9, 0, 0, 129});
  too_many.resize(too_many.size() + 129 * 6, 0);
  MembershipDatagram out;
  GossipReject why{};
  EXPECT_FALSE(Decode(too_many, &out, &why));
  EXPECT_EQ(why, GossipReject::kBadRecord);
}

TEST(GossipWireRecords, EncodeRefusesWhatTheFormatCannotCarry) {
  const MembershipHeader h{"node-3", 9, 1, 0};
  std::vector<Gossip> bad(10);
  bad[0].joins.push_back({"node-9", 0});
  bad[1].members.push_back({"no de", 1});
  bad[2].pulls.push_back({9, 3});
  bad[3].censuses.push_back({true, 1, 255, 0});
  bad[4].summaries.push_back({false, 0, {}});
  bad[5].summaries.push_back({false, 200, std::vector<Summary::Bucket>(57)});
  bad[6].leaves.push_back({"node-9", 0});
  bad[7].leaves.push_back({"node-9", 3, "c9"});
  bad[8].left.push_back({"node-9", 0});
  bad[9].left.push_back({"node-9", 3, "c9"});
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_FALSE(EncodeGossip(bad[i], h, nullptr).ok()) << i;
  }
  Gossip zero;  // a tombstone of a member never heard: incarnation 0 is allowed
  zero.removed.push_back({"node-4", 0});
  EXPECT_TRUE(EncodeGossip(zero, h, nullptr).ok());
}

// The hex dump under "### Example: a Welcome" in docs/membership.md.
Bytes DocumentedWelcome() { return testing::DocHexDump("membership.md", "### Example: a Welcome"); }

TEST(GossipWireRecords, DocumentedWelcomeIsWhatTheEncoderWrites) {
  const Keyring ring = *Keyring::Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  Gossip welcome;
  // vigild's contacts: an IPv4-mapped IPv6 address and a port.
  auto contact = [](std::uint8_t host) {
    return std::string("\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\0\x02", 15) +
           static_cast<char>(host) + "\x1f\x0a";
  };
  welcome.members.push_back({"node-1", 1795887100000000ULL, contact(1)});
  welcome.members.push_back({"node-2", 1795887100000001ULL, contact(2)});
  welcome.censuses.push_back({true, 0, 255, 3});
  auto datagrams =
      EncodeGossip(welcome,
                   MembershipHeader{"node-1", 1795887100000000ULL, 2, 1795887188481661ULL},
                   &ring.primary());
  ASSERT_TRUE(datagrams.ok());
  const Bytes documented = DocumentedWelcome();
  ASSERT_FALSE(documented.empty()) << "docs/membership.md has no Welcome dump";
  EXPECT_EQ(documented, datagrams->at(0));
  MembershipDatagram out;
  GossipReject why{};
  EXPECT_TRUE(DecodeGossip(documented, &ring, true, &out, &why)) << GossipRejectName(why);
}

}  // namespace
}  // namespace vigil::membership
