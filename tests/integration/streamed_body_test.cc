// GET /v1/peers streams its body (docs/api.md): chunked on a connection that stays open,
// delimited by the close for HTTP/1.0 and `Connection: close`, complete and parseable either
// way at 5,000 peers, and a client that stops reading holds up nobody else. A resuming event
// client's current-state preamble is streamed too.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "tests/integration/cluster.h"
#include "tests/unit/test_messages.h"

namespace vigil::testing {
namespace {

namespace json = boost::json;

constexpr int kPeers = 5000;

int Connect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` and reads until vigild closes the connection (at most 30 s).
std::string Exchange(const std::string& socket, const std::string& request) {
  const int fd = Connect(socket);
  if (fd < 0) return "";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return "";
  }
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// Decodes a chunked body that starts at `at`; sets `at` past its last chunk. "" on a
// malformed body.
std::string Unchunk(const std::string& text, std::size_t& at) {
  std::string body;
  while (true) {
    const auto eol = text.find("\r\n", at);
    if (eol == std::string::npos) return "";
    const std::size_t size = std::stoul(text.substr(at, eol - at), nullptr, 16);
    at = eol + 2;
    if (size == 0) {
      at += 2;  // the CRLF after the last chunk (no trailers)
      return body;
    }
    if (at + size + 2 > text.size()) return "";
    body += text.substr(at, size);
    at += size + 2;
  }
}

// The number of peers in a complete body, each once (0 if any is repeated or the body does
// not parse).
std::size_t DistinctIds(const std::string& body) {
  boost::system::error_code ec;
  const auto doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return 0;
  std::set<std::string> ids;
  const auto& peers = doc.at("peers").as_array();
  for (const auto& p : peers) ids.emplace(p.at("id").as_string());
  EXPECT_TRUE(doc.at("next_cursor").is_null());
  EXPECT_EQ(ids.size(), peers.size()) << "a peer is repeated";
  return ids.size() == peers.size() ? ids.size() : 0;
}

class StreamedBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = FreeUdpPort();
    const int port = port_;
    std::ofstream cfg(dir_.File("n1.yaml"));
    cfg << fmt::format("node:\n  id: n1\n  bind: \"127.0.0.1:{}\"\nheartbeat:\n  interval: 1s\n",
                       port)
        << "peers:\n";
    p0_port_ = FreeUdpPort();  // p0 is real in one test: it sends from there
    for (int i = 0; i < kPeers; ++i) {
      cfg << fmt::format("  - {{id: p{}, address: \"127.0.0.1:{}\"}}\n", i,
                         i == 0 ? p0_port_ : 20000 + i);
    }
    // The smallest event backlog: a resuming client's 5,000 states must come in pieces.
    cfg << "api:\n  idle_timeout: 2s\n  sse_buffer: 4096\n  socket: " << dir_.File("n1.sock")
        << "\nstate:\n  directory: "
        << dir_.File("state") << "\n";
    cfg.close();
    daemon_ = std::make_unique<Daemon>("n1", dir_.File("n1.yaml"), dir_.File("n1.sock"),
                                       dir_.File("n1.log"));
    ASSERT_TRUE(daemon_->Start()) << daemon_->Log();
  }
  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  int port_ = 0;     // n1's
  int p0_port_ = 0;
};

// Asks for the event stream after an id vigild never issued (a gap, then every peer's
// state); returns the connection, or -1.
int ResumeEvents(const std::string& socket) {
  const int fd = Connect(socket);
  const std::string request =
      "GET /v1/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 18000000000000000000\r\n\r\n";
  if (fd >= 0 &&
      ::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads what is there on `fd` (waiting up to a second for something) into `out`; false
// once the peer closed.
bool ReadSome(int fd, std::string& out) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 1000) <= 0) return true;
  char buf[65536];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  return n > 0;
}

// Sends unauthenticated heartbeats as p0 from p0's configured address (`port`) to vigild's
// (`daemon_port`) until vigild has it up.
bool BringUpP0(const Daemon& daemon, int port, int daemon_port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_port = htons(static_cast<std::uint16_t>(port));
  from.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
    ::close(fd);
    return false;
  }
  sockaddr_in dst = from;
  dst.sin_port = htons(static_cast<std::uint16_t>(daemon_port));
  std::uint64_t seq = 0;
  const bool up = WaitUntil([&] {
    const auto datagram = EncodedMessage("p0", 7, ++seq);
    ::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&dst),
             sizeof dst);
    return daemon.PeerState("p0") == "up";
  });
  ::close(fd);
  return up;
}

TEST_F(StreamedBodyTest, KeepAliveGetsChunksAndTheConnectionServesTheNextRequest) {
  const std::string out =
      Exchange(daemon_->socket(),
               "GET /v1/peers HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto head_end = out.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << out.substr(0, 500);
  const std::string head = out.substr(0, head_end);
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
  std::size_t at = head_end + 4;
  EXPECT_EQ(DistinctIds(Unchunk(out, at)), static_cast<std::size_t>(kPeers));
  // The second answer follows on the same connection.
  EXPECT_EQ(out.compare(at, 12, "HTTP/1.1 200"), 0) << out.substr(at, 200);
  EXPECT_NE(out.find("\"status\":\"ok\"", at), std::string::npos);
}

TEST_F(StreamedBodyTest, Http10AndConnectionCloseGetTheBodyUntilTheClose) {
  for (const std::string request :
       {"GET /v1/peers HTTP/1.0\r\n\r\n",
        "GET /v1/peers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"}) {
    const std::string out = Exchange(daemon_->socket(), request);
    const auto head_end = out.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << request;
    const std::string head = out.substr(0, head_end);
    EXPECT_NE(head.find(" 200 "), std::string::npos) << head;
    EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    EXPECT_EQ(DistinctIds(out.substr(head_end + 4)), static_cast<std::size_t>(kPeers)) << request;
  }
  // curl, which keeps connections open, reads it as well, and so does vigilctl.
  std::string body;
  ASSERT_EQ(RunCommand(fmt::format("curl -sS --max-time 30 --unix-socket {} "
                                   "'http://localhost/v1/peers?prefix=p1'",
                                   daemon_->socket()),
                       &body),
            0);
  EXPECT_EQ(DistinctIds(body), 1111u);  // p1, p10-p19, p100-p199, p1000-p1999
  std::string table;
  ASSERT_EQ(RunCommand(fmt::format("{} -s {} status", VigilctlPath(), daemon_->socket()), &table),
            0);
  EXPECT_EQ(static_cast<int>(std::count(table.begin(), table.end(), '\n')), kPeers + 1)
      << table.substr(0, 300);  // a header and one line per peer
}

// A client resuming the event stream after a gap gets the state of every peer, each once,
// in pieces that fit its 4 KiB backlog (api.sse_buffer): never dropped for the preamble.
TEST_F(StreamedBodyTest, AResumingEventClientGetsEveryPeersStateInPieces) {
  const int fd = ResumeEvents(daemon_->socket());
  ASSERT_GE(fd, 0);
  std::string out;
  std::set<std::string> peers;
  std::size_t states = 0, scanned = 0;
  bool closed = false;
  char buf[65536];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (states < kPeers && !closed && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) closed = true;
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    for (auto at = out.find("event: state\ndata: ", scanned); at != std::string::npos;
         at = out.find("event: state\ndata: ", scanned)) {
      const auto data = at + std::string_view("event: state\ndata: ").size();
      const auto end = out.find('\n', data);
      if (end == std::string::npos) break;  // the rest of it is still on its way
      peers.emplace(json::parse(out.substr(data, end - data)).at("peer").as_string());
      ++states;
      scanned = end;
    }
  }
  ::close(fd);
  EXPECT_FALSE(closed) << "vigild closed the stream after " << states << " states";
  EXPECT_EQ(states, static_cast<std::size_t>(kPeers));
  EXPECT_EQ(peers.size(), static_cast<std::size_t>(kPeers)) << "a peer is repeated";
  const auto gap = out.find("event: gap\ndata: {\"after\":");
  ASSERT_NE(gap, std::string::npos) << out.substr(0, 500);
  EXPECT_LT(gap, out.find("event: state")) << "the gap comes first";
  EXPECT_NE(out.find("\"reason\":\"unknown\""), std::string::npos) << out.substr(0, 500);
  EXPECT_EQ(daemon_->Metric("vigil_event_subscribers_dropped_total"), 0.0);
}

// A transition while a resuming client's states are still on their way is held until the
// last state, which carries the gap's id: no event id reaches the client before every state
// has, so a client that drops midway resumes from its old id and gets them all again.
TEST_F(StreamedBodyTest, ATransitionDuringTheStatesComesAfterTheLastOne) {
  const int fd = ResumeEvents(daemon_->socket());
  ASSERT_GE(fd, 0);
  std::string out;
  while (out.find("event: state") == std::string::npos && ReadSome(fd, out)) {
  }
  // Not reading on: about 550 KB of states wait behind the socket's buffers.
  ASSERT_TRUE(BringUpP0(*daemon_, p0_port_, port_)) << daemon_->Log();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (out.find("\"to\":\"up\"") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline && ReadSome(fd, out)) {
  }
  ::close(fd);
  const auto transition = out.find("event: transition\ndata: {\"id\":");
  ASSERT_NE(transition, std::string::npos) << out.size() << " bytes";
  std::size_t states = 0;
  for (auto at = out.find("event: state"); at != std::string::npos;
       at = out.find("event: state", at + 1)) {
    ++states;
    EXPECT_LT(at, transition);
  }
  EXPECT_EQ(states, static_cast<std::size_t>(kPeers));
  // The first id line is the last state's; the transition's comes after it.
  const auto first_id = out.find("\nid: ");
  ASSERT_NE(first_id, std::string::npos);
  EXPECT_EQ(out.find("event: state", first_id), out.rfind("event: state")) << "an id midway";
  EXPECT_GT(transition, first_id);
  EXPECT_EQ(daemon_->Metric("vigil_event_subscribers_dropped_total"), 0.0);
}

TEST_F(StreamedBodyTest, AClientThatStopsReadingHoldsUpNobodyElse) {
  const int stalled = Connect(daemon_->socket());
  ASSERT_GE(stalled, 0);
  const std::string request = "GET /v1/peers HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::write(stalled, request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  // It reads nothing; its body fills the socket buffers and waits there.
  for (int i = 0; i < 5; ++i) {
    const std::string out = Exchange(
        daemon_->socket(), "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(out.find("\"status\":\"ok\""), std::string::npos) << out;
  }
  // After api.idle_timeout (2 s) without progress vigild gives up on it: what the socket
  // buffers held arrives, then the end, short of the whole body.
  std::string got;
  char buf[65536];
  bool closed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    pollfd p{stalled, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    const ssize_t n = ::read(stalled, buf, sizeof buf);
    if (n <= 0) closed = true;
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(stalled);
  EXPECT_TRUE(closed) << got.size() << " bytes, no end";
  EXPECT_EQ(got.find("\r\n0\r\n\r\n"), std::string::npos) << "the whole body arrived";
  EXPECT_GT(got.size(), 0u);
  EXPECT_TRUE(daemon_->GetJson("/v1/self"));
}

}  // namespace
}  // namespace vigil::testing
