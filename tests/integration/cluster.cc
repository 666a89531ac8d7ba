#include "tests/integration/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "transport/keyring.h"

namespace vigil::testing {

namespace json = boost::json;

bool WaitUntil(const std::function<bool()>& ready, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= end) return ready();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/vigil-test-XXXXXX";
  path_ = ::mkdtemp(tmpl);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int FreeTcpPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  socklen_t len = sizeof a;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

int FreeUdpPort(const std::string& host) {
  const bool v6 = host.find(':') != std::string::npos;
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    ::inet_pton(AF_INET, host.c_str(), &a->sin_addr);
    len = sizeof(sockaddr_in);
  }
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  ::close(fd);
  return port;
}

bool Ipv6LoopbackAvailable() { return FreeUdpPort("::1") > 0; }

std::string VigildPath() { return VIGILD_PATH; }
std::string VigilctlPath() { return VIGILCTL_PATH; }

int RunCommand(const std::string& command, std::string* output, bool merge_stderr) {
  const std::string cmd = merge_stderr ? command + " 2>&1" : command;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (output) *output = std::move(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Daemon::Daemon(std::string id, std::string config_path, std::string socket_path,
               std::string log_path)
    : id_(std::move(id)),
      config_(std::move(config_path)),
      socket_(std::move(socket_path)),
      log_(std::move(log_path)) {}

Daemon::~Daemon() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool Daemon::Start(std::chrono::milliseconds deadline) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    // Leak checking of a SIGKILLed child is meaningless; clean exits are still checked.
    ::execl(VIGILD_PATH, VIGILD_PATH, "--config", config_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  exit_status_ = -1;
  const bool up = WaitUntil([&] {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return true;  // exited: give up
    }
    return Client().Get("/v1/health").ok();
  }, deadline);
  return up && pid_ > 0;
}

void Daemon::Signal(int signo) {
  if (pid_ > 0) ::kill(pid_, signo);
}

int Daemon::WaitExit(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return exit_status_;
  int result = -1;
  WaitUntil(
      [&] {
        int status = 0;
        if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          exit_status_ = result;
          return true;
        }
        return pid_ <= 0;
      },
      deadline);
  return result;
}

std::string Daemon::Log() const {
  std::ifstream in(log_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<json::value> Daemon::GetJson(const std::string& target, int* status) const {
  const auto r = Client().Get(target);
  if (!r) return std::nullopt;
  if (status) *status = r->status;
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec) return std::nullopt;
  return v;
}

std::string Daemon::PeerState(const std::string& peer) const { return PeerField(peer, "state"); }

std::string Daemon::PeerField(const std::string& peer, const std::string& field) const {
  const auto v = GetJson("/v1/peers/" + peer);
  if (!v || !v->is_object()) return "";
  const auto* s = v->as_object().if_contains(field);
  return s && s->is_string() ? std::string(s->as_string()) : "";
}

std::uint64_t Daemon::PeerIncarnation(const std::string& peer) const {
  const auto v = GetJson("/v1/peers/" + peer);
  if (!v || !v->is_object()) return 0;
  return json::value_to<std::uint64_t>(v->as_object().at("incarnation"));
}

double Daemon::Metric(const std::string& sample) const {
  const auto r = Client().Get("/metrics");
  if (!r) return -1;
  const std::string key = "\n" + sample + " ";  // a sample line, not # HELP
  const auto at = r->body.find(key);
  return at == std::string::npos ? -1 : std::stod(r->body.substr(at + key.size()));
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  for (int i = 0; i < options_.nodes; ++i) ports_.push_back(FreeUdpPort(options_.host));
  for (int i = 0; i < options_.nodes; ++i) {
    const std::string id = fmt::format("n{}", i + 1);
    std::vector<int> others;
    for (int j = 0; j < options_.nodes; ++j) {
      if (j != i) others.push_back(j);
    }
    WriteConfig(i, others);
    const std::string config = dir_.File(id + ".yaml");
    daemons_.push_back(std::make_unique<Daemon>(id, config, dir_.File(id + ".sock"),
                                                dir_.File(id + ".log")));
  }
}

void Cluster::WriteConfig(int i, const std::vector<int>& peers, const std::string& extra) {
  const bool v6 = options_.host.find(':') != std::string::npos;
  auto addr = [&](int k) {
    return v6 ? fmt::format("[{}]:{}", options_.host, ports_[static_cast<std::size_t>(k)])
              : fmt::format("{}:{}", options_.host, ports_[static_cast<std::size_t>(k)]);
  };
  const std::string id = fmt::format("n{}", i + 1);
  std::string yaml = fmt::format(
      "node:\n  id: {}\n  bind: \"{}\"\n{}heartbeat:\n  interval: {}\n{}peers:\n", id, addr(i),
      options_.node_yaml, options_.interval, options_.heartbeat_yaml);
  for (int j : peers) yaml += fmt::format("  - id: n{}\n    address: \"{}\"\n", j + 1, addr(j));
  yaml += fmt::format("api:\n  socket: {}\n{}state:\n  directory: {}\n", dir_.File(id + ".sock"),
                      options_.api_yaml, StateDir(i));
  yaml += options_.extra_yaml + extra;
  std::ofstream(dir_.File(id + ".yaml"), std::ios::trunc) << yaml;
}

void WriteKeys(const std::string& path, const std::vector<std::string>& keys) {
  std::ofstream(path, std::ios::trunc) << fmt::format("{}\n", fmt::join(keys, "\n"));
  ::chmod(path.c_str(), 0600);
}

void Cluster::UseKeys(int n, const std::string& extra) {
  const std::string key = GenerateKeyBase64();
  for (int i = 0; i < n; ++i) {
    WriteKeys(KeyFile(i), {key});
    std::vector<int> others;
    for (int j = 0; j < n; ++j) {
      if (j != i) others.push_back(j);
    }
    WriteConfig(i, others, fmt::format("security:\n  keyring: {}\n", KeyFile(i)) + extra);
  }
}

bool Cluster::StartAll() {
  for (auto& d : daemons_) {
    if (!d->Start()) return false;
  }
  return true;
}

bool Cluster::AllSee(const std::string& state) {
  for (auto& a : daemons_) {
    if (!a->running()) continue;
    for (auto& b : daemons_) {
      if (a == b || !b->running()) continue;
      if (a->PeerState(b->id()) != state) return false;
    }
  }
  return true;
}

std::string Cluster::Logs() const {
  std::string out;
  for (const auto& d : daemons_) out += "--- " + d->id() + " ---\n" + d->Log();
  return out;
}

struct EventCollector::State {
  mutable std::mutex mu;
  std::vector<SseEvent> events;
  std::atomic<bool> open{false};
  std::atomic<bool> stop{false};
  std::thread thread;
};

EventCollector::EventCollector(std::string socket, std::optional<std::string> last_event_id)
    : state_(std::make_shared<State>()) {
  state_->thread = std::thread([s = state_, socket, last_event_id] {
    StreamRequest request;
    request.last_event_id = last_event_id;
    request.cancel = &s->stop;
    const StreamHandlers handlers{[&] {
                                    s->open = true;
                                    return true;
                                  },
                                  [&](const SseEvent& e) {
                                    std::lock_guard lock(s->mu);
                                    s->events.push_back(e);
                                    return !s->stop.load();
                                  },
                                  nullptr};
    (void)ApiClient(socket).Stream(request, handlers);
  });
}

EventCollector::~EventCollector() { Stop(); }

void EventCollector::Stop() {
  if (!state_->thread.joinable()) return;
  state_->stop = true;  // noticed within a second; the connection closes when the thread ends
  state_->thread.join();
}

bool EventCollector::WaitOpen() {
  return WaitUntil([&] { return state_->open.load(); });
}

std::vector<SseEvent> EventCollector::Events() const {
  std::lock_guard lock(state_->mu);
  return state_->events;
}

bool EventCollector::Saw(const std::string& peer, const std::string& to) const {
  for (const auto& e : Events()) {
    boost::system::error_code ec;
    const auto v = json::parse(e.data, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.as_object();
    const auto* p = o.if_contains("peer");
    const auto* t = o.if_contains("to");
    if (p && t && p->is_string() && t->is_string() && p->as_string() == peer &&
        t->as_string() == to) {
      return true;
    }
  }
  return false;
}

}  // namespace vigil::testing
