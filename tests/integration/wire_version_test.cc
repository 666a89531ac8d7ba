// Wire versions between a real vigild and a peer that speaks version 2 (an older vigil, or a
// sender written against version 2): vigild answers it in version 2, signed with that
// version's MAC, even while the peer cannot yet echo this run (the upgrade case), and goes
// back to version 3 when the peer does (docs/protocol.md, "Versions").
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "tests/integration/cluster.h"
#include "transport/keyring.h"
#include "transport/wire_format.h"

namespace vigil::testing {
namespace {

// A UDP socket on 127.0.0.1:`port` that plays a peer: it receives vigild's datagrams and
// sends its own.
class FakePeer {
 public:
  explicit FakePeer(int port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{0, 200'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~FakePeer() { ::close(fd_); }
  bool bound() const { return bound_; }

  // The next datagram (empty after 200 ms of nothing).
  std::vector<std::uint8_t> Receive() {
    std::vector<std::uint8_t> d(2048);
    const ssize_t n = ::recv(fd_, d.data(), d.size(), 0);
    d.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return d;
  }

  void SendTo(int port, const std::vector<std::uint8_t>& d) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    ::sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }

 private:
  int fd_;
  bool bound_ = false;
};

// Waits (up to 10 s) for a datagram from vigild that decodes as `version` and verifies with
// `ring`; returns it decoded (its sender and incarnation), or nullopt.
std::optional<Message> AwaitVersion(FakePeer& peer, std::uint8_t version, const Keyring& ring,
                                    std::vector<std::uint8_t>& storage) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    storage = peer.Receive();
    Message m;
    RejectReason why{};
    if (storage.empty() || Decode(storage, &m, &why) != DecodeStatus::kOk) continue;
    if (m.version == version && m.authenticated && Verify(storage, m, ring) == AuthResult::kOk) {
      return m;
    }
  }
  return std::nullopt;
}

std::vector<std::uint8_t> SignedAs(std::uint8_t version, std::uint64_t sequence,
                                   std::uint64_t echo, const Key& key) {
  Message m;
  m.version = version;
  m.sender_id = "n2";
  m.incarnation = 5'000;
  m.sequence = sequence;
  m.interval_us = 100'000;
  m.echo = echo;
  std::vector<std::uint8_t> d(kMaxMessageSize);
  d.resize(Sign(d, Encode(m, d), key));
  return d;
}

TEST(WireVersion, VigildAnswersAVersion2PeerInVersion2AndReturnsTo3) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  c.UseKeys(2);
  std::ifstream keys(c.KeyFile(0));
  std::string key_text;
  std::getline(keys, key_text);
  const auto ring = Keyring::Parse(key_text + "\n");
  ASSERT_TRUE(ring) << ring.message();
  FakePeer n2(c.port(1));  // n2 is this test, on n2's address
  ASSERT_TRUE(n2.bound());
  ASSERT_TRUE(c.node(0).Start()) << c.Logs();

  // Never heard from n2: vigild sends the newest version, with the 16-byte SipHash tag.
  std::vector<std::uint8_t> d;
  const auto first = AwaitVersion(n2, kWireVersion, *ring, d);
  ASSERT_TRUE(first) << c.Logs();
  EXPECT_EQ(first->tag.size(), 16u);

  // n2 is an older vigil: it cannot read version 3, so it echoes nothing of n1's run (0).
  // Its datagrams are unconfirmed (require_echo is on with a keyring), yet n1 now answers
  // in version 2, echoing n2's incarnation...
  std::uint64_t seq = 0;
  for (int i = 0; i < 3; ++i) {
    n2.SendTo(c.port(0), SignedAs(kWireVersion2, ++seq, /*echo=*/0, ring->primary()));
  }
  const auto v2 = AwaitVersion(n2, kWireVersion2, *ring, d);
  ASSERT_TRUE(v2) << c.Logs();
  EXPECT_EQ(v2->tag.size(), 32u);
  EXPECT_EQ(v2->echo, 5'000u);
  EXPECT_GT(c.node(0).Metric("vigil_datagrams_rejected_total{reason=\"unconfirmed\"}"), 0);
  // ... which n2 reads: from n1's version 2 datagram it learns n1's incarnation and echoes
  // it, as a vigil 0.2 does, and n1 hears it.
  const std::uint64_t n1_incarnation = v2->incarnation;
  for (int i = 0; i < 3; ++i) {
    n2.SendTo(c.port(0), SignedAs(kWireVersion2, ++seq, n1_incarnation, ring->primary()));
  }
  ASSERT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n2") == "up"; })) << c.Logs();

  // n2 is upgraded: its version 3 datagrams bring n1 back to version 3.
  for (int i = 0; i < 3; ++i) {
    n2.SendTo(c.port(0), SignedAs(kWireVersion, ++seq, n1_incarnation, ring->primary()));
  }
  ASSERT_TRUE(AwaitVersion(n2, kWireVersion, *ring, d)) << c.Logs();
  EXPECT_EQ(c.node(0).Metric("vigil_datagrams_rejected_total{reason=\"bad_mac\"}"), 0);
}

}  // namespace
}  // namespace vigil::testing
