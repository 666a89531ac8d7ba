// vigil's configuration: typed, validated, with every error located in the file.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/endpoint.h"
#include "detector/detector_options.h"
#include "base/time.h"

namespace vigil {

struct PeerConfig {
  std::string id;
  Endpoint address;
  DetectorOptions detector;  // the defaults with this peer's overrides applied
  bool record = false;       // record this peer's heartbeat arrivals (recording.enabled or peers[].record)
  bool operator==(const PeerConfig&) const = default;
};

// Heartbeat trace recording (docs/tuning.md): per peer, CSV files in
// <state.directory>/traces/, rotated at max_file_bytes, at most max_files kept per peer.
struct RecordingConfig {
  bool enabled = false;  // the default for peers without their own `record`
  std::uint64_t max_file_bytes = 16ULL << 20;
  std::uint32_t max_files = 4;
  bool operator==(const RecordingConfig&) const = default;
};

// node:
struct NodeConfig {
  std::string id;
  Endpoint bind{"0.0.0.0", kDefaultPort, Endpoint::HostKind::kIPv4};
  std::optional<Endpoint> advertise;
  // Under dense traffic a datagram may wait this long in the socket buffer, so that one
  // wake-up of the receive loop handles many (UdpEndpoint::set_coalesce_window). 0: off.
  Duration receive_coalesce = std::chrono::milliseconds(1);
  bool operator==(const NodeConfig&) const = default;
};

// heartbeat:
struct HeartbeatConfig {
  Duration interval = std::chrono::seconds(1);
  double jitter = 0.1;  // fraction of the interval, uniformly spread
  bool operator==(const HeartbeatConfig&) const = default;
};

// api: the local HTTP API on the Unix socket.
struct ApiConfig {
  std::string socket = "/run/vigil/vigil.sock";
  std::uint32_t mode = 0660;
  std::size_t max_connections = 64;
  Duration idle_timeout = std::chrono::seconds(30);
  std::size_t sse_buffer_bytes = 256 * 1024;
  // If either list is non-empty, only these users/primary groups (and root) may use the API
  // (checked with SO_PEERCRED); others get 403.
  std::vector<std::uint32_t> allow_uids;
  std::vector<std::uint32_t> allow_gids;
  bool operator==(const ApiConfig&) const = default;
};

// metrics:
struct MetricsConfig {
  std::optional<Endpoint> listen;  // optional TCP listener for /metrics
  // Per-peer series (vigil_peer_*) for at most this many listed peers, the first in `peers:`
  // order: writing them is one turn of the event loop (about 6 ms per 1,000 peers).
  std::size_t peer_series_limit = 10'000;
  bool operator==(const MetricsConfig&) const = default;
};

// log:
struct LogConfig {
  std::string level = "info";
  bool operator==(const LogConfig&) const = default;
};

// state:
struct StateConfig {
  std::string directory = "/var/lib/vigil";
  bool operator==(const StateConfig&) const = default;
};

// events:
struct EventsConfig {
  std::size_t ring_size = 4096;  // transitions kept for resuming clients
  bool operator==(const EventsConfig&) const = default;
};

// security:
struct SecurityConfig {
  std::optional<std::string> keyring;  // path of the keyring file; unset: no authentication
  bool require_auth = false;           // reject datagrams without a valid MAC
  // Reject datagrams whose source address is not the peer's configured (resolved) address.
  bool check_source_address = true;
  // A datagram of a peer incarnation not yet confirmed must echo this daemon's incarnation
  // (docs/security.md, "Replays"). Default: require_auth.
  bool require_echo = false;
  bool operator==(const SecurityConfig&) const = default;
};

// enrollment: senders not listed in `peers:`, accepted when they authenticate (the presence
// case: a million users cannot be listed). Enrolled peers are receive-only.
struct EnrollmentConfig {
  bool enabled = false;
  std::string id_pattern = "*";  // a glob (fnmatch(3)) a sender's id must match
  std::size_t max_peers = 100000;  // enrolled peers tracked at once; newcomers beyond: refused
  // Silence after which an enrolled peer leaves the detector tables; its last seen, state,
  // since and replay high-water marks are remembered.
  Duration retention = std::chrono::hours(1);
  bool operator==(const EnrollmentConfig&) const = default;
};

// cluster: membership through seeds (docs/membership.md). Set seeds, and this node is a
// cluster member: it joins through them, watches and is watched by a few members, and
// shows every member at /v1/members.
struct ClusterConfig {
  // IP addresses of members to ask to be admitted (this node's own is skipped). Empty: not
  // a member.
  std::vector<Endpoint> seeds;
  bool operator==(const ClusterConfig&) const = default;
};

// The whole file, one member per YAML section; each part of the daemon takes its section.
struct Config {
  std::string source;  // file the config came from (for messages)

  NodeConfig node;
  HeartbeatConfig heartbeat;
  DetectorOptions detector;  // defaults for every peer
  std::vector<PeerConfig> peers;
  ApiConfig api;
  MetricsConfig metrics;
  LogConfig log;
  StateConfig state;
  RecordingConfig recording;
  EventsConfig events;
  SecurityConfig security;
  EnrollmentConfig enrollment;
  ClusterConfig cluster;
  bool operator==(const Config&) const = default;
};

// The values of log.level (and of vigild --log-level).
inline constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug", "info", "warn",
                                                               "error", "critical", "off"};

// One problem found in a configuration.
struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no position (unreadable file)
  int column = 0;  // 1-based
  std::string key;  // dotted path, e.g. "peers[2].address"
  std::string message;

  // "file:line:column: key: message"
  std::string ToString() const;
};

struct ConfigResult {
  std::optional<Config> config;     // set iff errors is empty
  std::vector<ConfigError> errors;  // every problem found, in file order

  bool ok() const { return errors.empty(); }
};

// Reads and validates a YAML configuration file. Never throws: an unreadable file, a YAML
// syntax error and every invalid or unknown key become ConfigErrors.
ConfigResult LoadConfigFile(const std::string& path);

// The same for text already in memory; `name` is used as the file name in errors.
ConfigResult LoadConfigString(const std::string& yaml, const std::string& name);

}  // namespace vigil
