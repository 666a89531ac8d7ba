// The membership datagram (docs/membership.md, "Messages"): layout built by hand from the
// page's table, round trips, splitting at 1,232 bytes, every rejection in its documented
// order, authentication before records, and the page's example and reason table.
#include "membership/gossip_wire.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/doc_table.h"

namespace vigil::membership {
namespace {

using Bytes = std::vector<std::uint8_t>;

// Keys of bytes 0..31 (the page's example key: the test's cluster key) and 32..63 (a
// stranger's), in a keyring file's base64.
Keyring Ring(std::uint8_t first) {
  return *Keyring::Parse(first == 0 ? "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
                                    : "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n");
}

Gossip Sample() {
  Gossip g;
  g.alives.push_back({"node-5", 1795887211111111ULL});
  g.reports.push_back({"node-3", "node-7", 1795887200000000ULL, 2});
  return g;
}

const MembershipHeader kHeader{"node-3", 1795887209564748ULL, 7, 1795887188481661ULL};

Bytes EncodeOne(const Gossip& g, const Key* key, MembershipHeader h = kHeader) {
  auto r = EncodeGossip(g, h, key);
  EXPECT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->size(), 1u);
  return r->at(0);
}

void Put(Bytes& b, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void Put(Bytes& b, const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }

TEST(GossipWire, LayoutIsTheDocumentedTable) {
  Bytes want = {0x56, 0x47, 3, 3, 0, 6, 2, 0};
  Put(want, kHeader.incarnation, 8);
  Put(want, kHeader.sequence, 8);
  Put(want, kHeader.echo, 8);
  Put(want, "node-3");
  want.insert(want.end(), {2, 6, 0});
  Put(want, 1795887211111111ULL, 8);
  Put(want, "node-5");
  want.insert(want.end(), {1, 6, 6});
  Put(want, 1795887200000000ULL, 8);
  Put(want, 2, 4);
  Put(want, "node-3node-7");
  EXPECT_EQ(EncodeOne(Sample(), nullptr), want);
}

TEST(GossipWire, SignedRoundTrip) {
  const Keyring ring = Ring(0);
  const Bytes d = EncodeOne(Sample(), &ring.primary());
  EXPECT_EQ(d[4], 1);  // the trailer flag
  MembershipDatagram out;
  GossipReject why{};
  ASSERT_TRUE(DecodeGossip(d, &ring, true, &out, &why)) << GossipRejectName(why);
  EXPECT_TRUE(out.authenticated);
  EXPECT_EQ(out.header.sender, "node-3");
  EXPECT_EQ(out.header.incarnation, kHeader.incarnation);
  EXPECT_EQ(out.header.sequence, 7u);
  EXPECT_EQ(out.header.echo, kHeader.echo);
  EXPECT_EQ(out.gossip.alives, Sample().alives);
  EXPECT_EQ(out.gossip.reports, Sample().reports);
}

TEST(GossipWire, SplitsAtTheDatagramAndRecordLimits) {
  Gossip big;  // reports with 64-byte ids: 143 bytes each
  const std::string a(64, 'a'), b(64, 'b');
  for (std::uint32_t i = 1; i <= 50; ++i) big.reports.push_back({a, b, i, i});
  Gossip many;  // refutations of 1-byte ids: 11 bytes each, the most records a datagram holds
  for (std::uint64_t i = 1; i <= 600; ++i) many.alives.push_back({"x", i});
  const Keyring ring = Ring(0);
  for (const Gossip& g : {big, many}) {
    auto encoded = EncodeGossip(g, kHeader, &ring.primary());
    ASSERT_TRUE(encoded.ok());
    const auto parts = SplitGossip(g, kHeader.sender.size());
    ASSERT_EQ(parts.size(), encoded->size());
    Gossip back;
    std::uint64_t sequence = kHeader.sequence;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const Bytes& d = encoded->at(i);
      EXPECT_LE(d.size(), kMaxMembershipDatagram);
      EXPECT_EQ(d.size(), parts[i].bytes);
      MembershipDatagram out;
      GossipReject why{};
      ASSERT_TRUE(DecodeGossip(d, &ring, true, &out, &why)) << GossipRejectName(why);
      EXPECT_EQ(out.header.sequence, sequence++);
      EXPECT_LE(out.gossip.alives.size() + out.gossip.reports.size(), 98u);
      for (auto& x : out.gossip.alives) back.alives.push_back(x);
      for (auto& x : out.gossip.reports) back.reports.push_back(x);
    }
    EXPECT_EQ(back.alives, g.alives);
    EXPECT_EQ(back.reports, g.reports);
  }
  // 8 reports of 143 bytes fit in 32 + 6 + 17 + 8 * 143 = 1,199 bytes; a ninth would not.
  EXPECT_EQ(SplitGossip(big, 6).size(), 7u);
  // (1,232 - 32 - 6 - 17) / 12 = 98 refutations fit in one datagram: 600 take 7.
  EXPECT_EQ(SplitGossip(many, 6).size(), 7u);
  EXPECT_EQ(SplitGossip(many, 6).front().gossip.alives.size(), 98u);
  EXPECT_TRUE(SplitGossip(Gossip{}, 6).empty());
}

TEST(GossipWire, EncodeRefusesWhatTheFormatCannotCarry) {
  const Key* none = nullptr;
  auto header = kHeader;
  EXPECT_FALSE(EncodeGossip(Sample(), {"bad id", 1, 1, 0}, none).ok());
  EXPECT_FALSE(
      EncodeGossip(Gossip{.members = {{"m1", 1, std::string(33, 'c')}}}, kHeader, none).ok());
  EXPECT_TRUE(
      EncodeGossip(Gossip{.members = {{"m1", 1, std::string(32, 'c')}}}, kHeader, none).ok());
  EXPECT_FALSE(EncodeGossip(Sample(), {"n", 0, 1, 0}, none).ok());
  EXPECT_FALSE(EncodeGossip(Sample(), {"n", 1, 0, 0}, none).ok());
  for (Report r : {Report{"a", "a", 1, 0},
                   Report{"a", std::string(65, 'b'), 1, 0}, Report{"", "b", 1, 0}}) {
    Gossip g;
    g.reports.push_back(r);
    EXPECT_FALSE(EncodeGossip(g, header, none).ok()) << r.observer << " " << r.subject;
  }
  for (Alive a : {Alive{"a/b", 1}, Alive{"a", 0}}) {
    Gossip g;
    g.alives.push_back(a);
    EXPECT_FALSE(EncodeGossip(g, header, none).ok()) << a.member << " " << a.incarnation;
  }
  // Numbers never wrap: one datagram may take the last sequence, two may not.
  EXPECT_TRUE(EncodeGossip(Sample(), {"n", 1, UINT64_MAX, 0}, none).ok());
  Gossip two;
  for (std::uint64_t i = 1; i <= 108; ++i) two.alives.push_back({"x", i});
  EXPECT_FALSE(EncodeGossip(two, {"n", 1, UINT64_MAX, 0}, none).ok());
  EXPECT_TRUE(EncodeGossip(two, {"n", 1, UINT64_MAX - 1, 0}, none).ok());
}

TEST(GossipWire, AReportMayNameIncarnationZero) {
  Gossip g;  // the observer never heard its subject
  g.reports.push_back({"a", "b", 0, 1});
  MembershipDatagram out;
  GossipReject why{};
  ASSERT_TRUE(DecodeGossip(EncodeOne(g, nullptr), nullptr, false, &out, &why));
  EXPECT_EQ(out.gossip.reports, g.reports);
}

TEST(GossipWire, RecordsInAnyOrderAndAsManyAsFit) {
  Bytes d = EncodeOne(Sample(), nullptr);  // refutation at 38..54, report at 55..81
  Bytes swapped(d.begin(), d.begin() + 38);
  swapped.insert(swapped.end(), d.begin() + 55, d.end());
  swapped.insert(swapped.end(), d.begin() + 38, d.begin() + 55);
  MembershipDatagram out;
  GossipReject why{};
  ASSERT_TRUE(DecodeGossip(swapped, nullptr, false, &out, &why)) << GossipRejectName(why);
  EXPECT_EQ(out.gossip.alives, Sample().alives);
  EXPECT_EQ(out.gossip.reports, Sample().reports);
  // 99 refutations of a 1-byte id from a 1-byte sender, the last with an 11-byte contact,
  // unsigned: exactly 1,232 bytes.
  Bytes full = {0x56, 0x47, 3, 3, 0, 1, 99, 0};
  Put(full, 1, 8);
  Put(full, 1, 8);
  Put(full, 0, 8);
  Put(full, "x");
  for (int i = 1; i <= 99; ++i) {
    full.insert(full.end(), {2, 1, static_cast<std::uint8_t>(i == 99 ? 11 : 0)});
    Put(full, static_cast<std::uint64_t>(i), 8);
    Put(full, "y");
  }
  Put(full, "192.0.2.1:1");
  ASSERT_EQ(full.size(), kMaxMembershipDatagram);
  ASSERT_TRUE(DecodeGossip(full, nullptr, false, &out, &why)) << GossipRejectName(why);
  EXPECT_EQ(out.gossip.alives.size(), 99u);
  EXPECT_EQ(out.gossip.alives.back().contact, "192.0.2.1:1");
}

struct Mutation {
  const char* name;
  void (*apply)(Bytes&);
  GossipReject expect;
};

// One defect in each field of the fixed header, in the documented order of the checks.
const std::vector<Mutation>& HeaderMutations() {
  static const std::vector<Mutation> kMutations = {
      {"magic", [](Bytes& d) { d[1] = 0x48; }, GossipReject::kBadMagic},
      {"version 2", [](Bytes& d) { d[2] = 2; }, GossipReject::kBadVersion},
      {"type 1", [](Bytes& d) { d[3] = 1; }, GossipReject::kBadType},
      {"flag bit 1", [](Bytes& d) { d[4] = 2; }, GossipReject::kBadFlags},
      {"id length 0", [](Bytes& d) { d[5] = 0; }, GossipReject::kBadIdLength},
      {"0 records", [](Bytes& d) { d[6] = 0; }, GossipReject::kBadRecordCount},
      {"reserved", [](Bytes& d) { d[7] = 1; }, GossipReject::kBadReserved},
      {"incarnation 0", [](Bytes& d) { std::fill(&d[8], &d[16], 0); },
       GossipReject::kBadIncarnation},
      {"sequence 0", [](Bytes& d) { std::fill(&d[16], &d[24], 0); }, GossipReject::kBadSequence},
  };
  return kMutations;
}

TEST(GossipWire, EachRejectionInItsOrder) {
  std::vector<Mutation> cases = HeaderMutations();
  cases.insert(cases.end(), {
      {"id length 65", [](Bytes& d) { d[5] = 65; }, GossipReject::kBadIdLength},
      {"1,233 bytes", [](Bytes& d) { d.resize(1233, 0); }, GossipReject::kOversized},
      {"35 bytes", [](Bytes& d) { d.resize(35); }, GossipReject::kTooShort},
      {"one record too many", [](Bytes& d) { d[6] = 3; }, GossipReject::kLengthMismatch},
      {"a byte after the records", [](Bytes& d) { d.push_back(0); },
       GossipReject::kLengthMismatch},
      {"id past the end", [](Bytes& d) { d[5] = 64; }, GossipReject::kLengthMismatch},
      {"sender id byte", [](Bytes& d) { d[33] = '/'; }, GossipReject::kBadId},
      {"record kind 12", [](Bytes& d) { d[38] = 12; }, GossipReject::kBadRecord},
      {"record kind 0", [](Bytes& d) { d[38] = 0; }, GossipReject::kBadRecord},
      {"refuted id length 0", [](Bytes& d) { d[39] = 0; }, GossipReject::kBadRecord},
      {"refuted id length 65", [](Bytes& d) { d[39] = 65; }, GossipReject::kBadRecord},
      {"contact length 33", [](Bytes& d) { d[40] = 33; }, GossipReject::kBadRecord},
      {"contact past the end", [](Bytes& d) { d[40] = 32; }, GossipReject::kLengthMismatch},
      {"subject id length 0", [](Bytes& d) { d[57] = 0; }, GossipReject::kBadRecord},
      {"refutation's fixed fields cut", [](Bytes& d) { d.resize(38 + 10); d[6] = 1; },
       GossipReject::kLengthMismatch},
      {"refuted id byte", [](Bytes& d) { d[49] = ' '; }, GossipReject::kBadRecord},
      {"refuted incarnation 0", [](Bytes& d) { std::fill(&d[41], &d[49], 0); },
       GossipReject::kBadRecord},
      {"report of itself", [](Bytes& d) { d[d.size() - 1] = '3'; }, GossipReject::kBadRecord},
      {"report cut short", [](Bytes& d) { d.pop_back(); }, GossipReject::kLengthMismatch},
  });
  for (const Mutation& m : cases) {
    Bytes d = EncodeOne(Sample(), nullptr);
    m.apply(d);
    MembershipDatagram out;
    GossipReject why = GossipReject::kCount;
    EXPECT_FALSE(DecodeGossip(d, nullptr, false, &out, &why)) << m.name;
    EXPECT_EQ(GossipRejectName(why), GossipRejectName(m.expect)) << m.name;
  }
}

// Each header check, with every later one broken too, still gives its own reason.
TEST(GossipWire, HeaderChecksComeInTheDocumentedOrder) {
  const std::vector<Mutation>& chain = HeaderMutations();
  MembershipDatagram out;
  GossipReject why{};
  for (std::size_t k = 0; k < chain.size(); ++k) {
    Bytes d = EncodeOne(Sample(), nullptr);
    for (std::size_t j = k; j < chain.size(); ++j) chain[j].apply(d);
    EXPECT_FALSE(DecodeGossip(d, nullptr, false, &out, &why));
    EXPECT_EQ(GossipRejectName(why), GossipRejectName(chain[k].expect)) << chain[k].name;
    Bytes shorter(d.begin(), d.begin() + 35), longer = d;
    longer.resize(1233, 0);
    EXPECT_FALSE(DecodeGossip(shorter, nullptr, false, &out, &why));
    EXPECT_EQ(why, GossipReject::kTooShort);
    EXPECT_FALSE(DecodeGossip(longer, nullptr, false, &out, &why));
    EXPECT_EQ(why, GossipReject::kOversized);
  }
}

// A datagram is authenticated before its records are read: a forged or unsigned one with a
// bad record is rejected for what it lacks, not for the record.
TEST(GossipWire, AuthenticationComesBeforeTheRecords) {
  const Keyring ring = Ring(0);
  MembershipDatagram out;
  GossipReject why{};
  Bytes forged = EncodeOne(Sample(), &ring.primary());
  forged[38] = 9;  // an unknown record kind, and the tag no longer verifies
  for (bool require_auth : {false, true}) {
    EXPECT_FALSE(DecodeGossip(forged, &ring, require_auth, &out, &why));
    EXPECT_EQ(why, GossipReject::kBadMac);
  }
  Bytes unsigned_bad = EncodeOne(Sample(), nullptr);
  unsigned_bad[38] = 9;
  EXPECT_FALSE(DecodeGossip(unsigned_bad, &ring, true, &out, &why));
  EXPECT_EQ(why, GossipReject::kUnauthenticated);
  EXPECT_FALSE(DecodeGossip(unsigned_bad, &ring, false, &out, &why));
  EXPECT_EQ(why, GossipReject::kBadRecord);
  Bytes last_byte = EncodeOne(Sample(), &ring.primary());
  last_byte.back() = static_cast<std::uint8_t>(last_byte.back() ^ 1);
  EXPECT_FALSE(DecodeGossip(last_byte, &ring, false, &out, &why));
  EXPECT_EQ(why, GossipReject::kBadMac);
}

TEST(GossipWire, Authentication) {
  const Keyring ring = Ring(0), stranger = Ring(32);
  ASSERT_NE(ring.primary().id, stranger.primary().id);  // else the test means nothing
  MembershipDatagram out;
  GossipReject why{};
  const Bytes plain = EncodeOne(Sample(), nullptr);
  EXPECT_TRUE(DecodeGossip(plain, &ring, false, &out, &why));
  EXPECT_FALSE(out.authenticated);
  EXPECT_FALSE(DecodeGossip(plain, &ring, true, &out, &why));
  EXPECT_EQ(why, GossipReject::kUnauthenticated);
  const Bytes foreign = EncodeOne(Sample(), &stranger.primary());
  EXPECT_FALSE(DecodeGossip(foreign, &ring, true, &out, &why));
  EXPECT_EQ(why, GossipReject::kUnknownKey);
  // Without a keyring a trailer is not checked, so the datagram is not authenticated.
  EXPECT_TRUE(DecodeGossip(foreign, nullptr, false, &out, &why));
  EXPECT_FALSE(out.authenticated);
  EXPECT_FALSE(DecodeGossip(foreign, nullptr, true, &out, &why));
  EXPECT_EQ(why, GossipReject::kUnauthenticated);
}

TEST(GossipWire, EveryAlteredByteAndEveryPrefixIsRejected) {
  const Keyring ring = Ring(0);
  const Bytes signed_datagram = EncodeOne(Sample(), &ring.primary());
  MembershipDatagram out;
  GossipReject why{};
  for (std::size_t i = 0; i < signed_datagram.size(); ++i) {
    for (int flip : {0x01, 0x80}) {
      Bytes d = signed_datagram;
      d[i] = static_cast<std::uint8_t>(d[i] ^ flip);
      EXPECT_FALSE(DecodeGossip(d, &ring, true, &out, &why)) << "byte " << i;
    }
  }
  for (std::size_t n = 0; n < signed_datagram.size(); ++n) {
    const Bytes d(signed_datagram.begin(), signed_datagram.begin() + static_cast<long>(n));
    EXPECT_FALSE(DecodeGossip(d, &ring, false, &out, &why)) << "prefix " << n;
  }
}

// The hex dump under "### Example: a membership datagram" in docs/membership.md.
Bytes DocumentedExample() {
  return testing::DocHexDump("membership.md", "### Example: a membership datagram");
}

TEST(GossipWire, DocumentedExampleIsWhatTheEncoderWrites) {
  const Keyring ring = Ring(0);  // the page's key: bytes 00 01 .. 1f
  const Bytes documented = DocumentedExample();
  ASSERT_FALSE(documented.empty()) << "docs/membership.md has no example dump";
  EXPECT_EQ(documented, EncodeOne(Sample(), &ring.primary()));
  MembershipDatagram out;
  GossipReject why{};
  EXPECT_TRUE(DecodeGossip(documented, &ring, true, &out, &why)) << GossipRejectName(why);
}

TEST(GossipWire, DocumentedReasonsAreTheDecodersOwn) {
  const auto rows = testing::DocTable("membership.md", "| reason | check |");
  std::set<std::string> documented, named;
  for (const auto& [name, cells] : rows) documented.insert(name);
  for (int r = 0; r < static_cast<int>(GossipReject::kCount); ++r) {
    named.insert(std::string(GossipRejectName(static_cast<GossipReject>(r))));
  }
  EXPECT_EQ(documented, named);
}

}  // namespace
}  // namespace vigil::membership
