// metrics.listen (issue 12, item 10): vigild serves /metrics and /v1/health over TCP, a
// real Prometheus server (the Debian package, started here) scrapes it, and a PromQL query
// through Prometheus's HTTP API returns the peer series.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "tests/integration/cluster.h"

namespace vigil::testing {
namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";

// A Prometheus server in a temp dir, scraping `target` every second; killed on destruction.
class PrometheusServer {
 public:
  PrometheusServer(const TempDir& dir, const std::string& target) : port_(FreeTcpPort()) {
    const std::string config = dir.File("prometheus.yml");
    std::ofstream(config) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                          << "scrape_configs:\n  - job_name: vigil\n    static_configs:\n"
                          << "      - targets: ['" << target << "']\n";
    const std::string log = dir.File("prometheus.log");
    const std::string data = dir.File("tsdb");
    const std::string listen = fmt::format("--web.listen-address=127.0.0.1:{}", port_);
    const std::string config_flag = "--config.file=" + config;
    const std::string data_flag = "--storage.tsdb.path=" + data;
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execl(kPrometheus, kPrometheus, config_flag.c_str(), data_flag.c_str(), listen.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~PrometheusServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // The result vector of an instant query; empty if none (yet) or on any error.
  boost::json::array Query(const std::string& promql) const {
    std::string out;
    const int rc = RunCommand(
        fmt::format("curl -sfG --max-time 5 http://127.0.0.1:{}/api/v1/query --data-urlencode "
                    "'query={}'",
                    port_, promql),
        &out);
    if (rc != 0) return {};
    boost::system::error_code ec;
    const auto v = boost::json::parse(out, ec);
    if (ec || !v.is_object()) return {};
    const auto* data = v.as_object().if_contains("data");
    if (!data || !data->is_object()) return {};
    const auto* result = data->as_object().if_contains("result");
    return result && result->is_array() ? result->as_array() : boost::json::array{};
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

// The sample value of the first series of a query result, as text ("" if none).
std::string FirstValue(const boost::json::array& result) {
  if (result.empty()) return "";
  const auto& value = result[0].as_object().at("value").as_array();
  return std::string(value.at(1).as_string());
}

TEST(MetricsListen, ServesMetricsAndHealthOverTcpAndNothingElse) {
  const int port = FreeTcpPort();
  ClusterOptions o;
  o.nodes = 2;
  o.extra_yaml = "";
  Cluster c(o);
  c.WriteConfig(0, {1}, fmt::format("metrics:\n  listen: \"127.0.0.1:{}\"\n", port));
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  const std::string base = fmt::format("http://127.0.0.1:{}", port);
  std::string out;
  ASSERT_EQ(RunCommand("curl -sf --max-time 5 " + base + "/metrics", &out), 0) << out;
  EXPECT_NE(out.find("vigil_peer_up{peer=\"n2\"} 1"), std::string::npos) << out;
  ASSERT_EQ(RunCommand("curl -sf --max-time 5 " + base + "/v1/health", &out), 0) << out;
  EXPECT_EQ(boost::json::parse(out).as_object().at("status"), "ok") << out;
  // The rest of the API (peer ids, events) stays on the Unix socket.
  ASSERT_EQ(RunCommand("curl -s --max-time 5 -o /dev/null -w '%{http_code}' " + base + "/v1/peers",
                       &out),
            0);
  EXPECT_EQ(out, "404");
  ASSERT_EQ(RunCommand("curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X DELETE " + base +
                           "/metrics",
                       &out),
            0);
  EXPECT_EQ(out, "405");
  EXPECT_NE(c.node(0).Log().find(fmt::format("/metrics and /v1/health over HTTP on 127.0.0.1:{}",
                                             port)),
            std::string::npos)
      << c.node(0).Log();
}

TEST(MetricsListen, APortInUseIsAClearErrorAtStart) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  ASSERT_TRUE(c.node(1).Start()) << c.node(1).Log();
  // Something else listens on the port already.
  const int port = FreeTcpPort();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  c.WriteConfig(0, {1}, fmt::format("metrics:\n  listen: \"127.0.0.1:{}\"\n", port));
  EXPECT_FALSE(c.node(0).Start());
  EXPECT_EQ(c.node(0).WaitExit(), 1);
  EXPECT_NE(c.node(0).Log().find(fmt::format("cannot listen on metrics.listen 127.0.0.1:{}: "
                                             "Address already in use",
                                             port)),
            std::string::npos)
      << c.node(0).Log();
  ::close(fd);
}

TEST(MetricsListen, ARealPrometheusScrapesThePeerSeries) {
  if (::access(kPrometheus, X_OK) != 0) {
    GTEST_SKIP() << kPrometheus << " is missing: scripts/bootstrap installs package prometheus";
  }
  const int port = FreeTcpPort();
  ClusterOptions o;
  o.nodes = 3;
  Cluster c(o);
  c.WriteConfig(0, {1, 2}, fmt::format("metrics:\n  listen: \"127.0.0.1:{}\"\n", port));
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  PrometheusServer prometheus(c.dir(), fmt::format("127.0.0.1:{}", port));
  // Prometheus saw the target as healthy, and has both peers' series, up.
  EXPECT_TRUE(WaitUntil([&] { return FirstValue(prometheus.Query("up{job=\"vigil\"}")) == "1"; },
                        std::chrono::seconds(90)))
      << c.node(0).Log();
  boost::json::array peers;
  EXPECT_TRUE(WaitUntil(
      [&] {
        peers = prometheus.Query("vigil_peer_up == 1");
        return peers.size() == 2;
      },
      std::chrono::seconds(30)));
  std::set<std::string> names;
  for (const auto& s : peers) {
    names.insert(std::string(s.as_object().at("metric").as_object().at("peer").as_string()));
  }
  EXPECT_EQ(names, (std::set<std::string>{"n2", "n3"}));
  // A peer that dies shows in PromQL too: what the alerting rules in operations.md use.
  c.node(2).Signal(SIGKILL);
  EXPECT_TRUE(WaitUntil(
      [&] { return FirstValue(prometheus.Query("vigil_peer_up{peer=\"n3\"}")) == "0"; },
      std::chrono::seconds(60)));
}

}  // namespace
}  // namespace vigil::testing
