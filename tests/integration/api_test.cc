// The local API through real clients: curl for every documented endpoint and error,
// promtool on /metrics, the socket file's mode and lifecycle, connection limits.
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "tests/integration/cluster.h"

namespace vigil::testing {
namespace {

namespace json = boost::json;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.nodes = 2;
    o.extra_yaml = "events:\n  ring_size: 64\n";
    cluster_ = std::make_unique<Cluster>(o);
    ASSERT_TRUE(cluster_->StartAll()) << cluster_->Logs();
    ASSERT_TRUE(WaitUntil([&] { return cluster_->AllSee("up"); })) << cluster_->Logs();
  }
  Daemon& d() { return cluster_->node(0); }
  // curl against the daemon's socket; returns the HTTP status, body in *body.
  int Curl(const std::string& args, std::string* body) {
    std::string out;
    RunCommand(fmt::format("curl -sS --max-time 10 -o - -w '\\n%{{http_code}}' --unix-socket {} {}",
                           d().socket(), args),
               &out);
    const auto nl = out.rfind('\n');
    if (body) *body = out.substr(0, nl == std::string::npos ? 0 : nl);
    return nl == std::string::npos ? -1 : std::atoi(out.c_str() + nl + 1);
  }
  // A raw connection to the daemon's socket (-1 if it cannot connect).
  int Connect() {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, d().socket().c_str(), sizeof(addr.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    ::close(fd);
    return -1;
  }
  std::unique_ptr<Cluster> cluster_;
};

json::object ParseObject(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  return v.is_object() ? v.as_object() : json::object();
}

TEST_F(ApiTest, PeersListsEveryPeerWithAllDocumentedFields) {
  std::string body;
  ASSERT_EQ(Curl("http://localhost/v1/peers", &body), 200);
  const auto o = ParseObject(body);
  const auto& peers = o.at("peers").as_array();
  ASSERT_EQ(peers.size(), 1u);
  const auto& p = peers[0].as_object();
  for (const char* key : {"id", "address", "state", "phi", "last_heartbeat",
                          "last_heartbeat_age_ms", "since", "incarnation", "heartbeats_received",
                          "heartbeats_lost", "interval_mean_ms", "interval_stddev_ms", "flaps"}) {
    EXPECT_TRUE(p.contains(key)) << key << " missing in " << body;
  }
  EXPECT_EQ(p.at("id").as_string(), "n2");
  EXPECT_EQ(p.at("state").as_string(), "up");
  EXPECT_GT(json::value_to<std::int64_t>(p.at("heartbeats_received")), 0);
  // last_heartbeat is epoch ms: within a minute of now.
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_NEAR(static_cast<double>(json::value_to<std::int64_t>(p.at("last_heartbeat"))),
              static_cast<double>(now_ms), 60000.0);
  EXPECT_GE(json::value_to<std::int64_t>(p.at("last_heartbeat_age_ms")), 0);
}

TEST_F(ApiTest, OnePeerSelfAndHealth) {
  std::string body;
  ASSERT_EQ(Curl("http://localhost/v1/peers/n2", &body), 200);
  EXPECT_EQ(ParseObject(body).at("id").as_string(), "n2");
  ASSERT_EQ(Curl("http://localhost/v1/self", &body), 200);
  const auto self = ParseObject(body);
  EXPECT_EQ(self.at("id").as_string(), "n1");
  EXPECT_EQ(json::value_to<std::int64_t>(self.at("peers")), 1);
  EXPECT_EQ(json::value_to<std::int64_t>(self.at("peers_by_state").at("up")), 1);
  EXPECT_GE(json::value_to<std::int64_t>(self.at("uptime_ms")), 0);
  ASSERT_EQ(Curl("http://localhost/v1/health", &body), 200);
  EXPECT_EQ(ParseObject(body).at("status").as_string(), "ok");
}

TEST_F(ApiTest, EventsStreamWithCurl) {
  std::string out;
  // curl -N keeps reading; --max-time ends it (exit 28), after the replay has arrived.
  RunCommand(fmt::format("curl -sS -N --max-time 2 -H 'Last-Event-ID: 0' --unix-socket {} "
                         "http://localhost/v1/events",
                         d().socket()),
             &out);
  EXPECT_NE(out.find("event: transition"), std::string::npos) << out;
  EXPECT_NE(out.find("\"to\":\"up\""), std::string::npos) << out;
  // The SSE id of the replayed event is the id in its data (ids of a run start above the
  // node's incarnation, so they grow across restarts).
  const auto at = out.find("\nid: ");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string id = out.substr(at + 5, out.find('\n', at + 1) - at - 5);
  EXPECT_NE(out.find("data: {\"id\":" + id + ","), std::string::npos) << out;
  EXPECT_GT(std::stoull(id), 0u);
}

TEST_F(ApiTest, ErrorsAreJsonWithTheRightStatus) {
  std::string body;
  EXPECT_EQ(Curl("http://localhost/v1/peers/nobody", &body), 404);
  EXPECT_EQ(json::value_to<std::int64_t>(ParseObject(body).at("status")), 404);
  EXPECT_NE(std::string(ParseObject(body).at("error").as_string()).find("nobody"),
            std::string::npos);
  EXPECT_EQ(Curl("http://localhost/nothing/here", &body), 404);
  EXPECT_EQ(Curl("-X POST http://localhost/v1/peers", &body), 405);
  EXPECT_EQ(json::value_to<std::int64_t>(ParseObject(body).at("status")), 405);
  EXPECT_EQ(Curl("-H 'Last-Event-ID: banana' http://localhost/v1/events", &body), 400);
  EXPECT_EQ(Curl(fmt::format("-H 'X-Big: {}' http://localhost/v1/peers", std::string(9000, 'a')),
                 &body),
            431);
  const std::string big_body = d().socket() + ".body";
  std::ofstream(big_body) << std::string(100000, 'x');
  EXPECT_EQ(Curl(fmt::format("--data-binary @{} http://localhost/v1/peers", big_body), &body), 413);
  // Still serving after all of that.
  EXPECT_EQ(Curl("http://localhost/v1/health", &body), 200);
}

TEST_F(ApiTest, MalformedHttpGets400AndTheDaemonKeepsServing) {
  const int fd = Connect();
  ASSERT_GE(fd, 0);
  const std::string garbage = "BLAH\x01\x02 / HTTP/9.9\r\n\r\n";
  ASSERT_GT(::write(fd, garbage.data(), garbage.size()), 0);
  char buf[512] = {};
  const auto n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf).rfind("HTTP/1.1 400", 0), 0u) << buf;
  std::string body;
  EXPECT_EQ(Curl("http://localhost/v1/health", &body), 200);
}

// docs/api.md: after a 413 the daemon reads and drops what the client still sends, so a
// client that goes on sending its body is not reset and reads the answer.
TEST_F(ApiTest, AClientStillSendingAnOversizedBodyReadsThe413) {
  const int fd = Connect();
  ASSERT_GE(fd, 0);
  const std::string head =
      "POST /v1/peers HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n";
  ASSERT_EQ(::write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
  // Past the 16 KiB limit: the daemon answers 413 now, while the rest is still to come.
  const std::string chunk(20000, 'x');
  ASSERT_EQ(::write(fd, chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
  pollfd answered{fd, POLLIN, 0};  // the 413 is there to read: the daemon has answered
  ASSERT_EQ(::poll(&answered, 1, 10000), 1);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(chunk.size()))
        << "chunk " << i << ": " << std::strerror(errno);
  }
  char buf[512] = {};
  const auto n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  ASSERT_GT(n, 0) << std::strerror(errno);
  EXPECT_EQ(std::string(buf).rfind("HTTP/1.1 413", 0), 0u) << buf;
}

TEST_F(ApiTest, MetricsPassPromtoolWithNoFindings) {
  std::string body;
  ASSERT_EQ(Curl("http://localhost/metrics", &body), 200);
  EXPECT_NE(body.find("vigil_peer_up{peer=\"n2\"} 1"), std::string::npos) << body;
  EXPECT_NE(body.find("vigil_datagrams_rejected_total{reason=\"bad_magic\"}"), std::string::npos);
  const std::string file = cluster_->dir().File("metrics.txt");
  std::ofstream(file) << body;
  std::string out;
  const int rc = RunCommand("promtool check metrics < " + file, &out, true);
  ASSERT_NE(rc, 127) << "promtool is not installed (scripts/bootstrap installs prometheus)";
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << "promtool findings:\n" << out;
}

TEST_F(ApiTest, SocketFileHasTheConfiguredMode) {
  struct stat st {};
  ASSERT_EQ(::lstat(d().socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(ApiTest, ConnectionsBeyondTheCapAreRefusedWith503) {
  // Restart n1 with a cap of 2 connections.
  d().Signal(SIGTERM);
  ASSERT_EQ(d().WaitExit(), 0);
  std::ofstream(d().config_path(), std::ios::app) << "api:\n  max_connections: 2\n  mode: \"0600\"\n";
  // The config now has two api: sections: that is an error, and the daemon must say so.
  std::string out;
  EXPECT_EQ(RunCommand(VigildPath() + " --check-config --config " + d().config_path(), &out, true),
            1);
  EXPECT_NE(out.find("duplicate key"), std::string::npos) << out;
  // Rewrite it properly.
  std::string text;
  {
    std::ifstream in(d().config_path());
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  text = text.substr(0, text.rfind("api:\n  max_connections"));
  const auto api = text.find("api:\n");
  text.insert(api + 5, "  max_connections: 2\n  mode: \"0600\"\n");
  std::ofstream(d().config_path(), std::ios::trunc) << text;
  ASSERT_TRUE(d().Start()) << d().Log();
  struct stat st {};
  ASSERT_EQ(::lstat(d().socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto open_conn = [&] {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, d().socket().c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  };
  const int a = open_conn();
  const int b = open_conn();
  // Once the daemon has accepted both, a third connection is refused with 503 (polled: the
  // accepts may lag behind our connects on a loaded machine).
  std::string body;
  EXPECT_TRUE(WaitUntil([&] { return Curl("http://localhost/v1/health", &body) == 503; }));
  EXPECT_NE(body.find("max_connections"), std::string::npos) << body;
  ::close(a);
  ::close(b);
  EXPECT_TRUE(WaitUntil([&] { return Curl("http://localhost/v1/health", &body) == 200; }));
}

TEST(ApiSocket, RefusesToReplaceAFileThatIsNotASocket) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  std::ofstream(c.node(0).socket()) << "precious";
  EXPECT_FALSE(c.node(0).Start());
  EXPECT_EQ(c.node(0).WaitExit(), 1);
  EXPECT_NE(c.node(0).Log().find("is not a socket"), std::string::npos) << c.node(0).Log();
  std::ifstream in(c.node(0).socket());
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

TEST(ApiSocket, RefusesToStealTheSocketOfARunningDaemon) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  ASSERT_TRUE(c.node(0).Start());
  // Same API socket, a different UDP port: only the socket is in conflict.
  std::string text;
  {
    std::ifstream in(c.node(0).config_path());
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  const std::string port = std::to_string(c.port(0));
  text.replace(text.find(port), port.size(), std::to_string(FreeUdpPort()));
  // Its own state directory too, or the state lock would refuse it first.
  const std::string state = "n1-state";
  text.replace(text.find(state), state.size(), "second-state");
  const std::string config = c.dir().File("second.yaml");
  std::ofstream(config) << text;
  Daemon second("n1", config, c.node(0).socket(), c.dir().File("second.log"));
  second.Start();  // its health check may well be answered by the first daemon
  EXPECT_EQ(second.WaitExit(), 1);
  EXPECT_NE(second.Log().find("another vigild is listening"), std::string::npos) << second.Log();
  // The first one is still serving on it.
  EXPECT_EQ(c.node(0).PeerState("n2"), "unknown");
}

}  // namespace
}  // namespace vigil::testing
