// The wire format: round trips, the documented byte layout, and table-driven rejections.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "transport/wire_format.h"

namespace vigil {
namespace {

std::vector<std::uint8_t> EncodeOk(const Message& m) {
  std::vector<std::uint8_t> out(kMaxMessageSize);
  const std::size_t n = Encode(m, out);
  EXPECT_GT(n, 0u);
  out.resize(n);
  return out;
}

Message Sample() {
  Message m;
  m.type = MessageType::kHeartbeat;
  m.incarnation = 0x0102030405060708ULL;
  m.sequence = 42;
  m.interval_us = 100000;
  m.send_time_us = 0x1122334455667788ULL;
  m.echo = 0x0A0B0C0D0E0F1011ULL;
  m.sender_id = "node1";
  return m;
}

TEST(WireFormat, RoundTrips) {
  const auto bytes = EncodeOk(Sample());
  Message out;
  RejectReason why{};
  ASSERT_EQ(Decode(bytes, &out, &why), DecodeStatus::kOk);
  EXPECT_EQ(out.type, MessageType::kHeartbeat);
  EXPECT_EQ(out.incarnation, Sample().incarnation);
  EXPECT_EQ(out.sequence, 42u);
  EXPECT_EQ(out.interval_us, 100000u);
  EXPECT_EQ(out.send_time_us, Sample().send_time_us);
  EXPECT_EQ(out.sender_id, "node1");
  EXPECT_EQ(out.echo, Sample().echo);
  EXPECT_TRUE(out.has_echo);
  EXPECT_FALSE(out.authenticated);
}

TEST(WireFormat, Version1IsStillAcceptedWithoutAnEcho) {
  // A version 1 datagram is version 2 without the 8 echo bytes at offset 36.
  auto b = EncodeOk(Sample());
  b[2] = 1;
  b.erase(b.begin() + 36, b.begin() + 44);
  Message out;
  RejectReason why{};
  ASSERT_EQ(Decode(b, &out, &why), DecodeStatus::kOk) << RejectReasonName(why);
  EXPECT_FALSE(out.has_echo);
  EXPECT_EQ(out.echo, 0u);
  EXPECT_EQ(out.sequence, 42u);
  EXPECT_EQ(out.sender_id, "node1");
}

TEST(WireFormat, Version2IsTheSameLayoutWithItsOwnVersionByte) {
  Message m = Sample();
  m.version = kWireVersion2;
  const auto v2 = EncodeOk(m);
  auto v3 = EncodeOk(Sample());
  EXPECT_EQ(v2[2], 2);
  EXPECT_EQ(v3[2], 3);
  SetVersion(v3, kWireVersion2);
  EXPECT_EQ(v3, v2);
  SetVersion(v3, 1);  // not a version Encode writes: left alone
  EXPECT_EQ(v3, v2);
  Message out;
  RejectReason why{};
  ASSERT_EQ(Decode(v2, &out, &why), DecodeStatus::kOk);
  EXPECT_EQ(out.version, kWireVersion2);
  EXPECT_TRUE(out.has_echo);
  m.version = 1;
  std::vector<std::uint8_t> buffer(kMaxMessageSize);
  EXPECT_EQ(Encode(m, buffer), 0u);  // vigild never writes version 1
}

TEST(WireFormat, TheTrailerLengthFollowsTheVersion) {
  for (std::uint8_t version : {kWireVersion2, kWireVersion}) {
    Message m = Sample();
    m.version = version;
    auto b = EncodeOk(m);
    b[4] = kFlagAuthenticated;
    b.push_back(7);  // key id
    b.resize(b.size() + TagSize(version), 0xAB);
    Message out;
    RejectReason why{};
    ASSERT_EQ(Decode(b, &out, &why), DecodeStatus::kOk) << RejectReasonName(why);
    EXPECT_EQ(out.key_id, 7);
    EXPECT_EQ(out.tag.size(), version == kWireVersion ? 16u : 32u);
    b.push_back(0);  // the other version's length is not accepted
    EXPECT_EQ(Decode(b, &out, &why), DecodeStatus::kRejected);
    EXPECT_EQ(why, RejectReason::kLengthMismatch);
  }
}

TEST(WireFormat, SetEchoRewritesOnlyTheEchoField) {
  auto b = EncodeOk(Sample());
  SetEcho(b, 77);
  Message out;
  RejectReason why{};
  ASSERT_EQ(Decode(b, &out, &why), DecodeStatus::kOk);
  EXPECT_EQ(out.echo, 77u);
  EXPECT_EQ(out.sequence, 42u);
  EXPECT_EQ(out.sender_id, "node1");
}

TEST(WireFormat, LayoutIsBigEndianAsDocumented) {
  const auto b = EncodeOk(Sample());
  ASSERT_EQ(b.size(), kHeaderSize + 5);
  EXPECT_EQ(b[0], 0x56);
  EXPECT_EQ(b[1], 0x47);
  EXPECT_EQ(b[2], 3);  // version
  EXPECT_EQ(b[3], 1);  // heartbeat
  EXPECT_EQ(b[4], 0);  // flags
  EXPECT_EQ(b[5], 5);  // id length
  EXPECT_EQ(b[8], 0x01);   // incarnation, most significant byte first
  EXPECT_EQ(b[15], 0x08);
  EXPECT_EQ(b[23], 42);    // sequence, least significant byte last
  EXPECT_EQ(b[24], 0x00);  // 100000 = 0x000186A0
  EXPECT_EQ(b[25], 0x01);
  EXPECT_EQ(b[26], 0x86);
  EXPECT_EQ(b[27], 0xA0);
  EXPECT_EQ(b[28], 0x11);
  EXPECT_EQ(b[36], 0x0A);  // echo
  EXPECT_EQ(b[43], 0x11);
  EXPECT_EQ(std::string(b.begin() + 44, b.end()), "node1");
}

TEST(WireFormat, EncodeRefusesInvalidMessages) {
  std::vector<std::uint8_t> out(kMaxMessageSize);
  Message m = Sample();
  m.sender_id = "";
  EXPECT_EQ(Encode(m, out), 0u);
  m.sender_id = "bad id";
  EXPECT_EQ(Encode(m, out), 0u);
  m = Sample();
  m.interval_us = 0;
  EXPECT_EQ(Encode(m, out), 0u);
  std::vector<std::uint8_t> small(10);
  EXPECT_EQ(Encode(Sample(), small), 0u);
}

struct BadDatagram {
  const char* name;
  std::function<void(std::vector<std::uint8_t>&)> mutate;
  RejectReason want;
};

class WireFormatRejects : public ::testing::TestWithParam<BadDatagram> {};

TEST_P(WireFormatRejects, WithItsReason) {
  auto b = EncodeOk(Sample());
  GetParam().mutate(b);
  Message out;
  RejectReason why{};
  ASSERT_EQ(Decode(b, &out, &why), DecodeStatus::kRejected);
  EXPECT_EQ(why, GetParam().want) << RejectReasonName(why);
}

void PrintTo(const BadDatagram& d, std::ostream* os) { *os << d.name; }

INSTANTIATE_TEST_SUITE_P(
    Table, WireFormatRejects,
    ::testing::Values(
        BadDatagram{"empty", [](auto& b) { b.clear(); }, RejectReason::kTooShort},
        BadDatagram{"v1_header_only", [](auto& b) { b.resize(kHeaderSizeV1); },
                    RejectReason::kTooShort},
        BadDatagram{"v2_header_only", [](auto& b) { b.resize(kHeaderSize); },
                    RejectReason::kLengthMismatch},
        BadDatagram{"truncated_id", [](auto& b) { b.pop_back(); }, RejectReason::kLengthMismatch},
        BadDatagram{"trailing_byte", [](auto& b) { b.push_back('x'); },
                    RejectReason::kLengthMismatch},
        BadDatagram{"oversized", [](auto& b) { b.resize(kMaxMessageSize + 1, 'a'); },
                    RejectReason::kOversized},
        BadDatagram{"bad_magic", [](auto& b) { b[1] = 'X'; }, RejectReason::kBadMagic},
        BadDatagram{"version_4", [](auto& b) { b[2] = 4; }, RejectReason::kBadVersion},
        BadDatagram{"version_1_with_echo", [](auto& b) { b[2] = 1; },
                    RejectReason::kLengthMismatch},
        BadDatagram{"version_0", [](auto& b) { b[2] = 0; }, RejectReason::kBadVersion},
        BadDatagram{"type_0", [](auto& b) { b[3] = 0; }, RejectReason::kBadType},
        BadDatagram{"type_3", [](auto& b) { b[3] = 3; }, RejectReason::kBadType},
        BadDatagram{"unknown_flag", [](auto& b) { b[4] = 0x02; }, RejectReason::kBadFlags},
        BadDatagram{"id_length_0", [](auto& b) { b[5] = 0; }, RejectReason::kBadIdLength},
        BadDatagram{"id_length_65", [](auto& b) { b[5] = 65; }, RejectReason::kBadIdLength},
        BadDatagram{"id_length_lies", [](auto& b) { b[5] = 6; }, RejectReason::kLengthMismatch},
        BadDatagram{"reserved_set", [](auto& b) { b[7] = 1; }, RejectReason::kBadReserved},
        BadDatagram{"interval_zero", [](auto& b) { b[24] = b[25] = b[26] = b[27] = 0; },
                    RejectReason::kBadInterval},
        BadDatagram{"id_with_space", [](auto& b) { b[45] = ' '; }, RejectReason::kBadId},
        BadDatagram{"id_with_nul", [](auto& b) { b[44] = 0; }, RejectReason::kBadId},
        BadDatagram{"auth_flag_without_trailer", [](auto& b) { b[4] = 1; },
                    RejectReason::kLengthMismatch}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(WireFormat, RandomBytesNeverCrashAndRarelyParse) {
  std::mt19937_64 rng(99);
  int parsed = 0;
  for (int i = 0; i < 200000; ++i) {
    std::vector<std::uint8_t> b(rng() % 160);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (rng() % 2 && b.size() > 3) {  // half of them start like a real message
      b[0] = kMagic0;
      b[1] = kMagic1;
      b[2] = kWireVersion;
    }
    Message m;
    RejectReason why{};
    if (Decode(b, &m, &why) == DecodeStatus::kOk) {
      ++parsed;
      EXPECT_TRUE(IsValidSenderId(m.sender_id));
      EXPECT_GT(m.interval_us, 0u);
    }
  }
  EXPECT_LT(parsed, 10);
}

}  // namespace
}  // namespace vigil
