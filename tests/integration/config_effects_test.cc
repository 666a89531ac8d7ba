// Settings whose effect only a running daemon shows (issue 12, item 10: every documented
// key does what docs/configuration.md says): api.idle_timeout, log.level, events.ring_size.
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "tests/integration/cluster.h"

namespace vigil::testing {
namespace {

// Connects to `socket` and sends nothing; returns after the daemon closes the connection
// (true) or after `wait` (false).
bool ClosedWhileIdle(const std::string& socket, std::chrono::milliseconds wait) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return false;
  }
  pollfd p{fd, POLLIN, 0};
  bool closed = false;
  if (::poll(&p, 1, static_cast<int>(wait.count())) == 1) {
    char c;
    closed = ::recv(fd, &c, 1, 0) == 0;
  }
  ::close(fd);
  return closed;
}

TEST(ConfigEffect, ApiIdleTimeoutClosesSilentConnections) {
  for (const bool short_timeout : {true, false}) {
    ClusterOptions o;
    o.nodes = 2;
    if (short_timeout) o.api_yaml = "  idle_timeout: 500ms\n";
    Cluster c(o);
    ASSERT_TRUE(c.node(0).Start()) << c.node(0).Log();
    // 500 ms: closed well within 5 s. The default (30 s): still open after 3 s.
    EXPECT_EQ(ClosedWhileIdle(c.node(0).socket(), std::chrono::seconds(short_timeout ? 5 : 3)),
              short_timeout);
  }
}

TEST(ConfigEffect, LogLevelDecidesWhatIsLogged) {
  for (const std::string level : {"info", "warn"}) {
    ClusterOptions o;
    o.nodes = 2;
    o.extra_yaml = "log:\n  level: " + level + "\n";
    Cluster c(o);
    ASSERT_TRUE(c.StartAll()) << c.Logs();
    ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
    // Info lines (the start, each transition) only at info.
    const bool has_info = c.node(0).Log().find(" info ") != std::string::npos;
    EXPECT_EQ(has_info, level == "info") << c.node(0).Log();
  }
}

// n2's detector on n1 is a 50 ms timeout while n2 sends every 100 ms: n2 goes up and down
// ten times a second, filling the event ring.
void MakeN2Flap(Cluster& c) {
  std::stringstream in;
  in << std::ifstream(c.node(0).config_path()).rdbuf();
  std::string text = in.str();
  const std::string peer = "  - id: n2\n";
  const auto at = text.find(peer);
  ASSERT_NE(at, std::string::npos);
  const auto line_end = text.find('\n', text.find("address:", at));
  text.insert(line_end + 1, "    detector: {kind: timeout, timeout: 50ms}\n");
  std::ofstream(c.node(0).config_path(), std::ios::trunc) << text;
}

TEST(ConfigEffect, EventsRingSizeIsHowFarBackAClientCanResume) {
  for (const int ring : {16, 1000}) {
    ClusterOptions o;
    o.nodes = 2;
    o.extra_yaml = fmt::format("events:\n  ring_size: {}\n", ring);
    Cluster c(o);
    MakeN2Flap(c);
    ASSERT_TRUE(c.StartAll()) << c.Logs();
    EventCollector first(c.node(0).socket());
    ASSERT_TRUE(first.WaitOpen());
    ASSERT_TRUE(WaitUntil([&] { return !first.Events().empty(); })) << c.node(0).Log();
    const std::string first_id = first.Events().front().id;
    // Well over 16 transitions later, resume after the first one seen.
    ASSERT_TRUE(WaitUntil([&] { return first.Events().size() >= 40; })) << c.node(0).Log();
    EventCollector resumed(c.node(0).socket(), first_id);
    ASSERT_TRUE(WaitUntil([&] { return !resumed.Events().empty(); }));
    const auto e = resumed.Events().front();
    if (ring == 16) {
      EXPECT_EQ(e.event, "gap");
      EXPECT_NE(e.data.find("\"reason\":\"evicted\""), std::string::npos) << e.data;
    } else {
      EXPECT_EQ(e.event, "transition") << e.data;  // replayed from the ring
      EXPECT_EQ(std::stoull(e.id), std::stoull(first_id) + 1) << e.data;
    }
  }
}

// peers[].address may be a host name: it is resolved (here "localhost"), and the peer is
// heard and sent to like one given by address.
TEST(ConfigEffect, APeerAddressMayBeAHostName) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  std::stringstream in;
  in << std::ifstream(c.node(0).config_path()).rdbuf();
  std::string text = in.str();
  const std::string literal = fmt::format("\"127.0.0.1:{}\"", c.port(1));
  const auto at = text.find(literal);
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, literal.size(), fmt::format("\"localhost:{}\"", c.port(1)));
  std::ofstream(c.node(0).config_path(), std::ios::trunc) << text;
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  EXPECT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  EXPECT_NE(c.node(0).Log().find("peer n2: localhost resolved to"), std::string::npos)
      << c.node(0).Log();
}

}  // namespace
}  // namespace vigil::testing
