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
};

// Heartbeat trace recording (docs/tuning.md): per peer, CSV files in
// <state.directory>/traces/, rotated at max_file_bytes, at most max_files kept per peer.
struct RecordingConfig {
  bool enabled = false;  // the default for peers without their own `record`
  std::uint64_t max_file_bytes = 16ULL << 20;
  std::uint32_t max_files = 4;
  bool operator==(const RecordingConfig&) const = default;
};

struct Config {
  std::string source;  // file the config came from (for messages)

  // node
  std::string node_id;
  Endpoint bind{"0.0.0.0", kDefaultPort, Endpoint::HostKind::kIPv4};
  std::optional<Endpoint> advertise;

  // heartbeat
  Duration heartbeat_interval = std::chrono::seconds(1);
  double heartbeat_jitter = 0.1;  // fraction of the interval, uniformly spread

  DetectorOptions detector;  // defaults for every peer
  std::vector<PeerConfig> peers;

  // api
  std::string api_socket = "/run/vigil/vigil.sock";
  std::uint32_t api_socket_mode = 0660;
  std::size_t api_max_connections = 64;
  Duration api_idle_timeout = std::chrono::seconds(30);
  std::size_t api_sse_buffer_bytes = 256 * 1024;
  // If either list is non-empty, only these users/primary groups (and root) may use the API
  // (checked with SO_PEERCRED); others get 403.
  std::vector<std::uint32_t> api_allow_uids;
  std::vector<std::uint32_t> api_allow_gids;

  // metrics
  std::optional<Endpoint> metrics_listen;  // optional TCP listener for /metrics

  // log
  std::string log_level = "info";

  // state
  std::string state_directory = "/var/lib/vigil";

  RecordingConfig recording;

  // events
  std::size_t event_ring_size = 4096;

  // security
  std::optional<std::string> keyring;  // path of the keyring file; unset: no authentication
  bool require_auth = false;           // reject datagrams without a valid MAC
  // Reject datagrams whose source address is not the peer's configured (resolved) address.
  bool check_source_address = true;
  // A datagram of a peer incarnation not yet confirmed must echo this daemon's incarnation
  // (docs/security.md, "Replays"). Default: require_auth.
  bool require_echo = false;
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
