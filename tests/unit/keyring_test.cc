// Keyring parsing, signing and verification, and the Node rejecting what does not verify
// before it touches any state.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "daemon/node.h"
#include "tests/unit/test_messages.h"
#include "tests/unit/test_time.h"
#include "transport/keyring.h"

namespace vigil {
namespace {

using testing::AtMs;

std::vector<std::uint8_t> Signed(const Key* key, std::string_view from, std::uint64_t seq,
                                 std::uint8_t version = kWireVersion) {
  return testing::SignedMessage(key, from, 1, seq, version);
}

Keyring Ring(const std::string& text) {
  auto r = Keyring::Parse(text);
  EXPECT_TRUE(r) << r.message();
  return *r;
}

// Keyring::Parse and Load, with the failure's message in *why (for the assertions below).
bool Parses(const std::string& text, std::string* why) {
  const auto r = Keyring::Parse(text);
  *why = r.message();
  return r.ok();
}
bool Loads(const std::string& path, std::string* why) {
  const auto r = Keyring::Load(path);
  *why = r.message();
  return r.ok();
}

TEST(Keyring, ParsesKeysCommentsAndBlankLines) {
  const std::string a = GenerateKeyBase64(), b = GenerateKeyBase64();
  const Keyring ring = Ring("# rotation in progress\n" + a + "\n\n  " + b + "  \n");
  ASSERT_EQ(ring.keys().size(), 2u);
  EXPECT_EQ(&ring.primary(), &ring.keys()[0]);
  EXPECT_NE(ring.keys()[0].bytes, ring.keys()[1].bytes);
}

TEST(Keyring, RejectsBadKeysWithTheLine) {
  std::string why;
  EXPECT_FALSE(Parses("", &why));
  EXPECT_NE(why.find("no key"), std::string::npos);
  EXPECT_FALSE(Parses("# only a comment\n", &why));
  EXPECT_FALSE(Parses(GenerateKeyBase64() + "\nnot-base64!!\n", &why));
  EXPECT_NE(why.find("line 2"), std::string::npos) << why;
  EXPECT_FALSE(Parses("c2hvcnQ=\n", &why));  // "short": 5 bytes
  EXPECT_NE(why.find("must be 32 bytes, this one is 5"), std::string::npos) << why;
}

TEST(Keyring, RefusesFilesOthersCanRead) {
  char tmpl[] = "/tmp/vigil-keys-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string path = dir + "/keys";
  std::ofstream(path) << GenerateKeyBase64() << "\n";
  ::chmod(path.c_str(), 0644);
  std::string why;
  EXPECT_FALSE(Loads(path, &why));
  EXPECT_NE(why.find("mode 0644"), std::string::npos) << why;
  EXPECT_NE(why.find("chmod 600"), std::string::npos) << why;
  ::chmod(path.c_str(), 0600);
  EXPECT_TRUE(Loads(path, &why)) << why;
  EXPECT_FALSE(Loads(dir, &why));  // a directory
  std::filesystem::remove_all(dir);
}

class MacTest : public ::testing::TestWithParam<std::uint8_t> {};

TEST_P(MacTest, SignedDatagramsVerifyAndEveryAlterationFails) {
  const Keyring ring = Ring(GenerateKeyBase64());
  const auto d = Signed(&ring.primary(), "n2", 7, GetParam());
  Message m;
  RejectReason why{};
  ASSERT_EQ(Decode(d, &m, &why), DecodeStatus::kOk);
  ASSERT_TRUE(m.authenticated);
  EXPECT_EQ(m.version, GetParam());
  EXPECT_EQ(m.tag.size(), TagSize(GetParam()));
  EXPECT_EQ(Verify(d, m, ring), AuthResult::kOk);
  int verified = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    for (const std::uint8_t bit : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      auto altered = d;
      altered[i] ^= bit;
      Message am;
      if (Decode(altered, &am, &why) != DecodeStatus::kOk) continue;  // flags, lengths
      ++verified;
      EXPECT_NE(Verify(altered, am, ring), AuthResult::kOk) << "byte " << i;
    }
  }
  EXPECT_GT(verified, static_cast<int>(d.size()));  // most alterations reach the MAC
  const Keyring other = Ring(GenerateKeyBase64());
  EXPECT_NE(Verify(d, m, other), AuthResult::kOk);
}

TEST_P(MacTest, EveryKeyOfTheRingIsTriedAndAnUnknownKeyIdIsSaidSo) {
  const std::string a = GenerateKeyBase64(), b = GenerateKeyBase64();
  const Keyring old_ring = Ring(b), ring = Ring(a + "\n" + b + "\n");
  const auto d = Signed(&old_ring.primary(), "n2", 3, GetParam());  // the secondary key
  Message m;
  RejectReason why{};
  ASSERT_EQ(Decode(d, &m, &why), DecodeStatus::kOk);
  EXPECT_EQ(Verify(d, m, ring), AuthResult::kOk);
  auto unknown = d;
  unknown[d.size() - TagSize(GetParam()) - 1] = static_cast<std::uint8_t>(m.key_id + 1);
  ASSERT_EQ(Decode(unknown, &m, &why), DecodeStatus::kOk);
  if (m.key_id != ring.keys()[0].id && m.key_id != ring.keys()[1].id) {
    EXPECT_EQ(Verify(unknown, m, ring), AuthResult::kUnknownKey);
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, MacTest, ::testing::Values(kWireVersion2, kWireVersion),
                         [](const auto& param_info) {
                           return "v" + std::to_string(param_info.param);
                         });

class AuthNodeTest : public ::testing::Test {
 protected:
  AuthNodeTest()
      : ring(Ring(GenerateKeyBase64())),
        node(*LoadConfigString("node:\n  id: me\npeers:\n  - id: n2\n    address: 10.0.0.2\n",
                               "t.yaml")
                  .config,
             {AtMs(0), WallTime{}}) {
    node.SetAuthentication(ring, true);
  }
  std::optional<RejectReason> Feed(const std::vector<std::uint8_t>& d, double at) {
    return node.OnDatagram(d, false, {AtMs(at), WallTime{}});
  }
  Keyring ring;
  Node node;
};

TEST_F(AuthNodeTest, OnlyVerifiedDatagramsCount) {
  EXPECT_EQ(Feed(Signed(nullptr, "n2", 1), 0), RejectReason::kUnauthenticated);
  const Keyring attacker = Ring(GenerateKeyBase64());
  const auto forged = Signed(&attacker.primary(), "n2", 1000);
  const auto r = Feed(forged, 0);
  EXPECT_TRUE(r == RejectReason::kBadMac || r == RejectReason::kUnknownKey);
  auto truncated = Signed(&ring.primary(), "n2", 1);
  truncated.pop_back();
  EXPECT_EQ(Feed(truncated, 0), RejectReason::kLengthMismatch);
  EXPECT_EQ(node.peers()[0].monitor.state(), PeerState::kUnknown);
  // The forged sequence 1000 did not advance anything: the real sequence 1 is accepted.
  EXPECT_FALSE(Feed(Signed(&ring.primary(), "n2", 1), 10));
  EXPECT_EQ(node.peers()[0].monitor.state(), PeerState::kUp);
  // A captured, valid datagram replayed later is still old.
  EXPECT_EQ(Feed(Signed(&ring.primary(), "n2", 1), 20), RejectReason::kOldSequence);
}

TEST_F(AuthNodeTest, APeerIsAnsweredInVersion2AfterItsVersion2AndIn3AfterAFresh3) {
  EXPECT_EQ(node.peers()[0].wire_version, kWireVersion);  // never heard: the newest
  EXPECT_FALSE(Feed(Signed(&ring.primary(), "n2", 1, kWireVersion2), 0));
  EXPECT_EQ(node.peers()[0].wire_version, kWireVersion2);  // an older vigil
  EXPECT_FALSE(Feed(Signed(&ring.primary(), "n2", 2, kWireVersion), 100));
  EXPECT_EQ(node.peers()[0].wire_version, kWireVersion);  // upgraded
  // A replayed version 3 datagram does not talk us back up after a version 2 one...
  EXPECT_FALSE(Feed(Signed(&ring.primary(), "n2", 3, kWireVersion2), 200));
  EXPECT_EQ(Feed(Signed(&ring.primary(), "n2", 2, kWireVersion), 300),
            RejectReason::kOldSequence);
  EXPECT_EQ(node.peers()[0].wire_version, kWireVersion2);
  // ... and a forged version 2 one does not talk us down.
  EXPECT_FALSE(Feed(Signed(&ring.primary(), "n2", 4, kWireVersion), 400));
  const Keyring attacker = Ring(GenerateKeyBase64());
  EXPECT_TRUE(Feed(Signed(&attacker.primary(), "n2", 5, kWireVersion2), 500));
  EXPECT_EQ(node.peers()[0].wire_version, kWireVersion);
}

// An older vigil that restarted cannot read our version 3, so it still echoes our old
// incarnation (or none): its datagrams are `unconfirmed`, yet they must switch us to
// version 2, or neither side would ever hear the other (docs/protocol.md, "Versions").
TEST_F(AuthNodeTest, AnUnconfirmedVersion2PeerIsAnsweredInVersion2) {
  node.set_own_incarnation(42);  // the datagram below echoes 0: not this run
  node.SetAuthentication(ring, true, /*require_echo=*/true);
  EXPECT_EQ(Feed(Signed(&ring.primary(), "n2", 1, kWireVersion2), 0), RejectReason::kUnconfirmed);
  EXPECT_EQ(node.peers()[0].wire_version, kWireVersion2);
  EXPECT_EQ(node.peers()[0].echo, 1u);  // and our next datagram echoes its incarnation
}

TEST_F(AuthNodeTest, WithoutRequireAuthUnsignedIsAcceptedButForgedIsNot) {
  node.SetAuthentication(ring, false);
  EXPECT_FALSE(Feed(Signed(nullptr, "n2", 1), 0));
  const Keyring attacker = Ring(GenerateKeyBase64());
  EXPECT_TRUE(Feed(Signed(&attacker.primary(), "n2", 2), 1));
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// fuzz/corpus/datagram/signed (version 1), signed-v2 and signed-v3 were made in Python from
// docs/protocol.md alone (key bytes 0..31; hashlib, and the page's SipHash function): vigild
// must accept them, so the document is enough to write a sender.
class DocumentSignedTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DocumentSignedTest, Verifies) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/fuzz/corpus/datagram/" + GetParam(),
                   std::ios::binary);
  ASSERT_TRUE(in);
  std::vector<std::uint8_t> d((std::istreambuf_iterator<char>(in)), {});
  const auto ring = Keyring::Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  ASSERT_TRUE(ring) << ring.message();
  Message m;
  RejectReason reason{};
  ASSERT_EQ(Decode(d, &m, &reason), DecodeStatus::kOk) << RejectReasonName(reason);
  EXPECT_EQ(Verify(d, m, *ring), AuthResult::kOk);
  d.back() ^= 1;
  ASSERT_EQ(Decode(d, &m, &reason), DecodeStatus::kOk);
  EXPECT_EQ(Verify(d, m, *ring), AuthResult::kBadTag);
}

INSTANTIATE_TEST_SUITE_P(Mac, DocumentSignedTest,
                         ::testing::Values("signed", "signed-v2", "signed-v3"),
                         [](const auto& param_info) {
                           const std::string name = param_info.param;
                           return name == "signed" ? "Version1" : "Version" + name.substr(8);
                         });

}  // namespace
}  // namespace vigil
