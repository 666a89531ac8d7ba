// docs/protocol.md promises that its example hex dump is what the encoder writes. Keep the
// document honest: parse the dump from the file and compare.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "transport/wire_format.h"

namespace vigil {
namespace {

TEST(ProtocolDoc, ExampleHexDumpIsWhatTheEncoderWrites) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/protocol.md");
  ASSERT_TRUE(in) << "docs/protocol.md missing";
  std::stringstream s;
  s << in.rdbuf();
  const std::string doc = s.str();
  const auto start = doc.find("```\n0000");
  ASSERT_NE(start, std::string::npos);
  const auto end = doc.find("```", start + 3);
  std::istringstream dump(doc.substr(start + 4, end - start - 4));
  std::vector<std::uint8_t> documented;
  std::string line;
  while (std::getline(dump, line)) {
    std::istringstream fields(line.substr(std::min<std::size_t>(6, line.size())));
    std::string byte;
    while (fields >> byte) documented.push_back(static_cast<std::uint8_t>(std::stoul(byte, nullptr, 16)));
  }
  Message m;
  m.type = MessageType::kHeartbeat;
  m.sender_id = "node1";
  m.incarnation = 1795887209564748ULL;
  m.sequence = 42;
  m.interval_us = 100000;
  m.send_time_us = 86400123456ULL;
  m.echo = 1795887188481661ULL;
  std::vector<std::uint8_t> encoded(kMaxMessageSize);
  encoded.resize(Encode(m, encoded));
  EXPECT_EQ(documented, encoded);
  Message decoded;
  RejectReason why{};
  EXPECT_EQ(Decode(documented, &decoded, &why), DecodeStatus::kOk);
}

TEST(ProtocolDoc, EveryRejectReasonIsDocumented) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/protocol.md");
  std::stringstream s;
  s << in.rdbuf();
  for (std::size_t r = 0; r < static_cast<std::size_t>(RejectReason::kCount); ++r) {
    const std::string name(RejectReasonName(static_cast<RejectReason>(r)));
    EXPECT_NE(s.str().find("| `" + name + "` |"), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace vigil
