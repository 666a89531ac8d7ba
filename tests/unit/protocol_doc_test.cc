// docs/protocol.md promises that its example hex dump is what the encoder writes. Keep the
// document honest: parse the dump from the file and compare.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "transport/keyring.h"
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

std::string ReadDoc() {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/protocol.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The page's ```python block, run by python3 with `driver` after it; its standard output.
std::string RunDocumentPython(const std::string& driver) {
  const std::string doc = ReadDoc();
  const auto start = doc.find("```python\n");
  if (start == std::string::npos) return "no python block";
  const auto end = doc.find("```\n", start + 10);
  char path[] = "/tmp/vigil-protocol-doc-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return "mkstemp failed";
  ::close(fd);
  std::ofstream(path) << doc.substr(start + 10, end - start - 10) << driver;
  std::string out;
  if (FILE* p = ::popen((std::string("python3 ") + path).c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  ::unlink(path);
  return out;
}

std::string Hex(std::span<const std::uint8_t> bytes) {
  std::string s;
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

// A sender written from the page signs exactly as vigild does, for every id length (so for
// every SipHash tail length) and for a key whose bytes are not all small.
TEST(ProtocolDoc, ThePagesSipHashSignsAsVigildDoes) {
  const auto ring = Keyring::Parse("/+7dzLuqmYh3ZlVEMyIRAP/u3cy7qpmId2ZVRDMiEQA=\n");
  ASSERT_TRUE(ring) << ring.message();
  std::string driver = "key = bytes.fromhex('ffeeddccbbaa99887766554433221100"
                       "ffeeddccbbaa99887766554433221100')\n";
  std::string expected;
  const std::string id = "abcdefghijklmnopq";
  for (std::size_t len = 1; len <= id.size(); ++len) {
    Message m;
    m.sender_id = std::string_view(id).substr(0, len);
    m.incarnation = 1795887209564748ULL + len;
    m.sequence = 42;
    m.interval_us = 100000;
    m.echo = 7;
    std::vector<std::uint8_t> b(kMaxMessageSize);
    const std::size_t n = Encode(m, b);
    ASSERT_GT(n, 0u);
    std::vector<std::uint8_t> unsigned_message(b.begin(), b.begin() + n);
    unsigned_message[4] = kFlagAuthenticated;
    b.resize(Sign(b, n, ring->primary()));
    driver += "print(sign_v3(bytes.fromhex('" + Hex(unsigned_message) + "'), key).hex())\n";
    expected += Hex(b) + "\n";
  }
  EXPECT_EQ(RunDocumentPython(driver), expected);
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
