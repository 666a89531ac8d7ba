// A hostile sender: every kind of bad datagram is counted by reason in /metrics and never
// changes a peer's state, nor stops the daemon.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <map>
#include <random>
#include <thread>
#include <vector>

#include "tests/integration/cluster.h"
#include "tests/unit/test_messages.h"
#include "transport/wire_format.h"

namespace vigil::testing {
namespace {

namespace json = boost::json;

class UdpSender {
 public:
  explicit UdpSender(int port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    to_.sin_family = AF_INET;
    to_.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &to_.sin_addr);
  }
  ~UdpSender() { ::close(fd_); }
  void Send(const std::vector<std::uint8_t>& bytes) {
    // Paced: a burst would overflow the daemon's socket buffer on a loaded machine, and
    // then the counts would measure the kernel, not vigild.
    if (++sent_ % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to_),
             sizeof to_);
  }

 private:
  int fd_;
  int sent_ = 0;
  sockaddr_in to_{};
};

std::vector<std::uint8_t> Valid(std::string_view sender, std::uint64_t incarnation,
                                std::uint64_t seq, MessageType type = MessageType::kHeartbeat) {
  return EncodedMessage(sender, incarnation, seq, type);
}

// Reads vigil_datagrams_rejected_total by reason from /metrics.
std::map<std::string, double> Rejected(const Daemon& d) {
  std::map<std::string, double> out;
  for (std::size_t r = 0; r < static_cast<std::size_t>(RejectReason::kCount); ++r) {
    const std::string name(RejectReasonName(static_cast<RejectReason>(r)));
    out[name] = d.Metric("vigil_datagrams_rejected_total{reason=\"" + name + "\"}");
  }
  return out;
}

TEST(GarbageDatagrams, AreCountedByReasonAndChangeNothing) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  Daemon& target = c.node(0);
  const auto before_peer = target.GetJson("/v1/peers/n2");
  ASSERT_TRUE(before_peer);
  const auto incarnation = target.PeerIncarnation("n2");
  const auto last_event_id = [&] {
    const auto self = target.GetJson("/v1/self");
    return self ? json::value_to<std::uint64_t>(self->as_object().at("last_event_id")) : 0;
  };
  const std::uint64_t events_before = last_event_id();
  ASSERT_GT(events_before, 0u);  // n2 came up

  UdpSender s(c.port(0));
  std::mt19937_64 rng(1234);
  std::map<std::string, int> sent;
  // Random bytes of every length (most fail the magic check; short ones are too short).
  for (int i = 0; i < 300; ++i) {
    std::vector<std::uint8_t> b(static_cast<std::size_t>(rng() % 120) + 1);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (b.size() >= 2) b[0] = 0x00;  // never the magic by chance
    s.Send(b);
  }
  auto good = Valid("n2", incarnation + 1000, 1);
  // Truncated: a valid message cut short.
  for (std::size_t n = 1; n < good.size(); n += 5) {
    s.Send(std::vector<std::uint8_t>(good.begin(), good.begin() + static_cast<long>(n)));
  }
  // Oversized: both longer than any message and longer than the receive buffer.
  s.Send(std::vector<std::uint8_t>(200, 0x56));
  s.Send(std::vector<std::uint8_t>(4000, 0x56));
  auto bad_version = good;
  bad_version[2] = 9;
  s.Send(bad_version);
  auto bad_magic = good;
  bad_magic[0] = 'X';
  s.Send(bad_magic);
  auto bad_type = good;
  bad_type[3] = 7;
  s.Send(bad_type);
  auto bad_flags = good;
  bad_flags[4] = 0x80;
  s.Send(bad_flags);
  s.Send(Valid("stranger", 1, 1));  // unknown sender
  s.Send(Valid("n1", 1, 1));        // its own id
  // A forged old incarnation of a real peer.
  s.Send(Valid("n2", incarnation - 1, 999999));

  EXPECT_TRUE(WaitUntil([&] {
    auto r = Rejected(target);
    // Random bytes shorter than a header are too short; the rest fail the magic.
    return r["too_short"] > 0 && r["oversized"] >= 2 && r["bad_version"] >= 1 &&
           r["bad_magic"] + r["too_short"] >= 300 + 8 && r["bad_type"] >= 1 && r["bad_flags"] >= 1 &&
           r["unknown_sender"] >= 1 && r["self"] >= 1 && r["stale_incarnation"] >= 1;
  })) << target.Log() << [&] {
    std::string all;
    for (const auto& [k, v] : Rejected(target)) all += k + "=" + std::to_string(v) + " ";
    return all;
  }();

  // Nothing changed: n2 is up with the same incarnation, and no event was emitted.
  EXPECT_EQ(target.PeerState("n2"), "up");
  EXPECT_EQ(target.PeerIncarnation("n2"), incarnation);
  EXPECT_EQ(last_event_id(), events_before);
  // And the log is not flooded: one line per source per window.
  const std::string log = target.Log();
  std::size_t lines = 0;
  for (std::size_t at = 0; (at = log.find("rejected datagram", at)) != std::string::npos; ++at) {
    ++lines;
  }
  EXPECT_LE(lines, 2u) << log;
}

TEST(GarbageDatagrams, ReplayedHeartbeatDoesNotRefreshAPeer) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  const auto incarnation = c.node(0).PeerIncarnation("n2");
  // n2 dies; someone keeps replaying one of its old heartbeats (sequence 1).
  c.node(1).Signal(SIGKILL);
  c.node(1).WaitExit();
  UdpSender s(c.port(0));
  std::atomic<bool> stop{false};
  std::thread replayer([&] {
    while (!stop) {
      s.Send(Valid("n2", incarnation, 1));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  const bool down = WaitUntil([&] { return c.node(0).PeerState("n2") == "down"; });
  stop = true;
  replayer.join();
  EXPECT_TRUE(down) << c.node(0).Log();
  EXPECT_GT(Rejected(c.node(0))["old_sequence"], 0);
}

}  // namespace
}  // namespace vigil::testing
