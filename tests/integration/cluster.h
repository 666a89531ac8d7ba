// Test harness: real vigild processes on loopback with random ports and temp dirs, talked
// to through the real Unix socket. Every wait is a bounded poll with a generous deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

#include "ctl/api_client.h"

namespace vigil::testing {

// Generous: these machines are shared and the daemons run under ASan.
inline constexpr std::chrono::seconds kDeadline{15};

// Polls `ready` every 20 ms until it is true or `deadline` passes. Returns its last value.
bool WaitUntil(const std::function<bool()>& ready,
               std::chrono::milliseconds deadline = kDeadline);

// A private directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A UDP port nobody is bound to right now on `host` (127.0.0.1 or ::1).
int FreeUdpPort(const std::string& host = "127.0.0.1");
bool Ipv6LoopbackAvailable();
// A TCP port nobody listens on right now on 127.0.0.1.
int FreeTcpPort();

std::string VigildPath();
std::string VigilctlPath();

// Runs a command, returns its exit status; stdout (and stderr if merge) into *output.
int RunCommand(const std::string& command, std::string* output, bool merge_stderr = false);

// One vigild process.
class Daemon {
 public:
  Daemon(std::string id, std::string config_path, std::string socket_path, std::string log_path);
  ~Daemon();  // SIGKILLs it if still running

  // Starts vigild and waits until its API answers. Returns false on failure (log kept).
  bool Start(std::chrono::milliseconds deadline = kDeadline);
  void Signal(int signo);
  // Waits for the process to exit; returns its exit status (or -1 on timeout).
  int WaitExit(std::chrono::milliseconds deadline = kDeadline);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  const std::string& id() const { return id_; }
  const std::string& socket() const { return socket_; }
  const std::string& config_path() const { return config_; }
  std::string Log() const;

  ApiClient Client() const { return ApiClient(socket_); }
  // GET `target` and parse it; nullopt if the daemon does not answer or the body is not JSON.
  std::optional<boost::json::value> GetJson(const std::string& target, int* status = nullptr) const;
  // The state of `peer` as this daemon reports it, "" if it does not answer.
  std::string PeerState(const std::string& peer) const;
  // A string field of /v1/peers/{peer}; "" if absent or not a string.
  std::string PeerField(const std::string& peer, const std::string& field) const;
  std::uint64_t PeerIncarnation(const std::string& peer) const;
  // The value of one /metrics sample, e.g. `vigil_datagrams_rejected_total{reason="self"}`;
  // -1 if the daemon does not answer or has no such sample.
  double Metric(const std::string& sample) const;

 private:
  std::string id_, config_, socket_, log_;
  pid_t pid_ = -1;
  int exit_status_ = -1;  // once reaped
};

struct ClusterOptions {
  int nodes = 3;
  std::string host = "127.0.0.1";
  std::string interval = "100ms";
  std::string extra_yaml;  // appended to every node's config (top-level keys)
  std::string api_yaml;    // extra keys for the api: section, indented by two spaces
  std::string heartbeat_yaml;  // extra keys for the heartbeat: section, indented likewise
  std::string node_yaml;       // extra keys for the node: section, indented likewise
};

// Writes a keyring file (one base64 key per line) with mode 0600.
void WriteKeys(const std::string& path, const std::vector<std::string>& keys);

// N daemons that all list each other as peers.
class Cluster {
 public:
  explicit Cluster(ClusterOptions options = {});
  bool StartAll();
  Daemon& node(int i) { return *daemons_.at(static_cast<std::size_t>(i)); }
  int size() const { return static_cast<int>(daemons_.size()); }
  int port(int i) const { return ports_.at(static_cast<std::size_t>(i)); }
  const TempDir& dir() const { return dir_; }
  std::string StateDir(int i) const { return dir_.File(fmt::format("n{}-state", i + 1)); }
  std::string KeyFile(int i) const { return dir_.File(fmt::format("n{}.keys", i + 1)); }
  // Gives the first n nodes one fresh shared key (in their own KeyFile) and rewrites their
  // configs to use it, each listing the other n-1, with `extra` appended.
  void UseKeys(int n, const std::string& extra = "");
  // Rewrites node i's config (same ports and paths) with `peers` (ids of other nodes, by
  // index) and `extra` appended.
  void WriteConfig(int i, const std::vector<int>& peers, const std::string& extra = "");
  // True once every running node reports every other running node as `state`.
  bool AllSee(const std::string& state);
  // Dumps every node's log (for failure messages).
  std::string Logs() const;

 private:
  ClusterOptions options_;
  TempDir dir_;
  std::vector<int> ports_;
  std::vector<std::unique_ptr<Daemon>> daemons_;
};

// Collects SSE events from a daemon on a background thread.
class EventCollector {
 public:
  explicit EventCollector(std::string socket, std::optional<std::string> last_event_id = {});
  ~EventCollector();  // stops the stream
  // Blocks until the stream is established (or the deadline passes).
  bool WaitOpen();
  // Stops and disconnects.
  void Stop();
  std::vector<SseEvent> Events() const;
  // True once an event with `peer` going to `to` has been seen.
  bool Saw(const std::string& peer, const std::string& to) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace vigil::testing
