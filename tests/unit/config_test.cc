// Configuration loading: the example config, defaults, overrides, and a table of bad configs
// each of which must be reported with its line, column, key and a clear message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <variant>

#include <fmt/format.h>

#include "config/config.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;

TEST(Config, ExampleConfigLoadsCleanly) {
  const auto r = LoadConfigFile(std::string(VIGIL_SOURCE_DIR) + "/systemd/vigil.yaml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(r.config);
  EXPECT_FALSE(r.config->node.id.empty());
  EXPECT_FALSE(r.config->peers.empty());
}

TEST(Config, MinimalConfigGetsDefaults) {
  const auto r = LoadConfigString("node:\n  id: a\n", "min.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.front().ToString();
  const Config& c = *r.config;
  EXPECT_EQ(c.node.id, "a");
  EXPECT_EQ(c.node.bind.port, 7946);
  EXPECT_EQ(c.heartbeat.interval, 1s);
  EXPECT_EQ(c.detector.kind(), DetectorKind::kAdaptive);
  const auto& adaptive = std::get<AdaptiveKnobs>(c.detector.knobs);
  EXPECT_EQ(adaptive.memory, 60min);
  EXPECT_EQ(adaptive.margin, 1.5);
  EXPECT_EQ(adaptive.target_mistakes_per_hour, 0.25);
  EXPECT_FALSE(c.recording.enabled);
  EXPECT_EQ(c.api.socket, "/run/vigil/vigil.sock");
  EXPECT_EQ(c.api.mode, 0660u);
  EXPECT_TRUE(c.peers.empty());
}

TEST(Config, AdaptiveKnobsParse) {
  const auto r = LoadConfigString(
      "node:\n  id: a\ndetector:\n  memory: 20m\n  margin: 1.25\n  target_mistakes_per_hour: 1\n",
      "adaptive.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.front().ToString();
  const auto& adaptive = std::get<AdaptiveKnobs>(r.config->detector.knobs);
  EXPECT_EQ(adaptive.memory, 20min);
  EXPECT_EQ(adaptive.margin, 1.25);
  EXPECT_EQ(adaptive.target_mistakes_per_hour, 1.0);
}

TEST(Config, MaxSampleSizeIsAcceptedWhereItDoesSomething) {
  for (const char* kind : {"phi", "phi-exponential"}) {
    const auto r = LoadConfigString(
        fmt::format("node:\n  id: a\ndetector:\n  kind: {}\n  max_sample_size: 50\n", kind),
        "k.yaml");
    ASSERT_TRUE(r.ok()) << r.errors.front().ToString();
    EXPECT_EQ(r.config->detector.max_sample_size, 50u);
  }
}

TEST(Config, WithoutAdvertiseTheBindAddressIsOwn) {
  // The same peer address is fine when the node is known by another address.
  EXPECT_TRUE(LoadConfigString("node:\n  id: a\n  bind: 10.0.0.1:7946\npeers:\n  - id: b\n"
                               "    address: 10.0.0.9\n",
                               "k.yaml")
                  .ok());
  EXPECT_FALSE(LoadConfigString("node:\n  id: a\n  bind: 10.0.0.9:7946\npeers:\n  - id: b\n"
                                "    address: 10.0.0.9\n",
                                "k.yaml")
                   .ok());
}

TEST(Config, PeerOverridesMergeOverDefaults) {
  const auto r = LoadConfigString(R"(node:
  id: a
  bind: "[::]:9000"
heartbeat:
  interval: 250ms
recording:
  enabled: true
  max_file_mib: 2
  max_files: 3
detector:
  kind: phi
  threshold: 10
  suspect_threshold: 5
  acceptable_heartbeat_pause: 1.5s
peers:
  - id: b
    address: 10.0.0.2:9000
  - id: c
    address: "[fd00::3]:9000"
    record: false
    detector:
      threshold: 12
  - id: d
    address: node-d.example
    detector:
      kind: timeout
      timeout: 2s
      suspect_after: 1s
api:
  mode: "0600"
)",
                                  "o.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.front().ToString();
  const Config& c = *r.config;
  EXPECT_EQ(c.node.bind.kind, Endpoint::HostKind::kIPv6);
  EXPECT_EQ(c.heartbeat.interval, 250ms);
  ASSERT_EQ(c.peers.size(), 3u);
  EXPECT_EQ(c.peers[0].detector.threshold, 10);
  EXPECT_EQ(std::get<PhiKnobs>(c.peers[0].detector.knobs).acceptable_heartbeat_pause, 1500ms);
  EXPECT_EQ(c.peers[1].detector.threshold, 12);
  EXPECT_EQ(*c.peers[1].detector.suspect_threshold, 5);
  EXPECT_EQ(c.peers[1].address.kind, Endpoint::HostKind::kIPv6);
  EXPECT_EQ(c.peers[2].address.port, 7946);
  EXPECT_EQ(c.peers[2].detector.kind(), DetectorKind::kTimeout);
  EXPECT_EQ(std::get<TimeoutKnobs>(c.peers[2].detector.knobs).timeout, 2s);
  EXPECT_EQ(c.api.mode, 0600u);
  EXPECT_EQ(c.recording.max_file_bytes, 2u << 20);
  EXPECT_EQ(c.recording.max_files, 3u);
  EXPECT_TRUE(c.peers[0].record);   // recording.enabled is the default
  EXPECT_FALSE(c.peers[1].record);  // switched off for this peer
}

TEST(Config, KindIsAppliedBeforeTheOtherKeysOfItsMapping) {
  // A change of kind resets the per-kind knobs, so a knob written before `kind` must survive.
  const auto r = LoadConfigString(R"(node:
  id: a
detector:
  timeout: 2s
  suspect_after: 500ms
  kind: timeout
peers:
  - id: b
    address: 10.0.0.2
    detector:
      min_std_deviation: 50ms
      threshold: 4
      kind: phi
)",
                                  "k.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.front().ToString();
  const Config& c = *r.config;
  ASSERT_EQ(c.detector.kind(), DetectorKind::kTimeout);
  EXPECT_EQ(std::get<TimeoutKnobs>(c.detector.knobs).timeout, 2s);
  EXPECT_EQ(std::get<TimeoutKnobs>(c.detector.knobs).suspect_after, Duration(500ms));
  ASSERT_EQ(c.peers.size(), 1u);
  ASSERT_EQ(c.peers[0].detector.kind(), DetectorKind::kPhi);
  EXPECT_EQ(std::get<PhiKnobs>(c.peers[0].detector.knobs).min_std_deviation, 50ms);
  EXPECT_EQ(c.peers[0].detector.threshold, 4);
}

TEST(Config, APeerChangingKindKeepsTheSharedKeysAndGetsTheKindsDefaultKnobs) {
  const auto r = LoadConfigString(R"(node:
  id: a
detector:
  kind: phi
  threshold: 10
  max_sample_size: 50
  rise: 3
  acceptable_heartbeat_pause: 2s
peers:
  - id: b
    address: 10.0.0.2
    detector:
      kind: phi-exponential
  - id: c
    address: 10.0.0.3
    detector:
      kind: phi
      min_std_deviation: 50ms
)",
                                  "k.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.front().ToString();
  const Config& c = *r.config;
  ASSERT_EQ(c.peers.size(), 2u);
  const DetectorOptions& b = c.peers[0].detector;
  ASSERT_EQ(b.kind(), DetectorKind::kPhiExponential);
  EXPECT_EQ(b.threshold, 10);
  EXPECT_EQ(b.max_sample_size, 50u);
  EXPECT_EQ(b.rise, 3u);
  EXPECT_TRUE(std::get<ExponentialKnobs>(b.knobs) == ExponentialKnobs{});
  // Restating the defaults' kind keeps the defaults' knobs.
  const auto& knobs = std::get<PhiKnobs>(c.peers[1].detector.knobs);
  EXPECT_EQ(knobs.acceptable_heartbeat_pause, 2s);
  EXPECT_EQ(knobs.min_std_deviation, 50ms);
}

struct BadConfig {
  const char* name;
  const char* yaml;
  int line;
  int column;
  const char* key;
  const char* message;  // a substring the message must contain
};

const BadConfig kBadConfigs[] = {
    {"record_not_a_bool", "node:\n  id: a\npeers:\n  - id: b\n    address: 10.0.0.2\n    record: maybe\n",
     6, 13, "peers[0].record", "expected true or false, found 'maybe'"},
    {"recording_unknown_key", "node:\n  id: a\nrecording:\n  enable: true\n", 4, 3,
     "recording.enable", "did you mean 'enabled'?"},
    {"unknown_top_key", "node:\n  id: a\nhartbeat:\n  interval: 1s\n", 3, 1, "hartbeat",
     "did you mean 'heartbeat'"},
    {"unknown_nested_key", "node:\n  id: a\ndetector:\n  treshold: 8\n", 4, 3,
     "detector.treshold", "did you mean 'threshold'"},
    {"missing_node_id", "node:\n  bind: 0.0.0.0:7946\n", 2, 3, "node.id",
     "required key is missing"},
    {"duration_without_unit", "node:\n  id: a\nheartbeat:\n  interval: 100\n", 4, 13,
     "heartbeat.interval", "a duration needs a unit"},
    {"duration_garbage", "node:\n  id: a\nheartbeat:\n  interval: fast\n", 4, 13,
     "heartbeat.interval", "expected a duration such as 250ms, 1.5s or 2m, found 'fast'"},
    {"zero_interval", "node:\n  id: a\nheartbeat:\n  interval: 0s\n", 4, 13,
     "heartbeat.interval", "expected a positive duration"},
    {"negative_threshold", "node:\n  id: a\ndetector:\n  threshold: -1\n", 4, 14,
     "detector.threshold", "expected a number > 0"},
    {"threshold_not_a_number", "node:\n  id: a\ndetector:\n  threshold: high\n", 4, 14,
     "detector.threshold", "expected a number, found 'high'"},
    {"suspect_above_threshold",
     "node:\n  id: a\ndetector:\n  kind: phi\n  threshold: 8\n  suspect_threshold: 9\n", 6, 3,
     "detector.suspect_threshold", "must be below threshold"},
    {"threshold_for_adaptive", "node:\n  id: a\ndetector:\n  kind: adaptive\n  threshold: 8\n", 5, 3,
     "detector.threshold", "kind adaptive has a fixed threshold of 1"},
    {"adaptive_suspect_not_a_fraction", "node:\n  id: a\ndetector:\n  suspect_threshold: 1.5\n", 4,
     3, "detector.suspect_threshold", "a fraction of the allowed silence below 1, found 1.5"},
    {"adaptive_memory_too_short", "node:\n  id: a\ndetector:\n  memory: 10ms\n", 4, 11,
     "detector.memory", "expected a duration from 1s to 24h, found 10ms"},
    {"adaptive_margin_below_one", "node:\n  id: a\ndetector:\n  margin: 0.5\n", 4, 11,
     "detector.margin", "expected a number >= 1 and <= 100, found 0.5"},
    {"margin_for_phi", "node:\n  id: a\ndetector:\n  kind: phi\n  margin: 2\n", 5, 3,
     "detector.margin", "only applies to kind adaptive, but kind is phi"},
    {"adaptive_target_zero", "node:\n  id: a\ndetector:\n  target_mistakes_per_hour: 0\n", 4,
     29, "detector.target_mistakes_per_hour", "expected a number > 0 and <= 60, found 0"},
    {"target_for_timeout",
     "node:\n  id: a\ndetector:\n  kind: timeout\n  target_mistakes_per_hour: 1\n", 5, 3,
     "detector.target_mistakes_per_hour", "only applies to kind adaptive, but kind is timeout"},
    {"duplicate_peer_id",
     "node:\n  id: a\npeers:\n  - id: b\n    address: 10.0.0.2\n  - id: b\n    address: 10.0.0.3\n",
     6, 9, "peers[1].id", "duplicate peer id 'b' (also peers[0])"},
    {"duplicate_peer_address",
     "node:\n  id: a\npeers:\n  - id: b\n    address: 10.0.0.2\n  - id: c\n    address: 10.0.0.2:7946\n",
     7, 14, "peers[1].address", "duplicate peer address 10.0.0.2:7946"},
    {"self_as_peer", "node:\n  id: a\npeers:\n  - id: a\n    address: 10.0.0.2\n", 4, 9,
     "peers[0].id", "this node's own id"},
    {"bad_ipv4", "node:\n  id: a\npeers:\n  - id: b\n    address: 10.0.0.300:7946\n", 5, 14,
     "peers[0].address", "not a valid IPv4 address"},
    {"bad_port", "node:\n  id: a\npeers:\n  - id: b\n    address: 10.0.0.3:70000\n", 5, 14,
     "peers[0].address", "port '70000' is not a number from 1 to 65535"},
    {"unknown_detector_kind", "node:\n  id: a\ndetector:\n  kind: phy\n", 4, 9,
     "detector.kind", "expected one of adaptive, phi, phi-exponential, timeout, found 'phy'"},
    {"key_for_other_kind", "node:\n  id: a\ndetector:\n  kind: timeout\n  min_std_deviation: 100ms\n",
     5, 3, "detector.min_std_deviation", "only applies to kind phi, but kind is timeout"},
    {"key_for_other_kind_before_kind",
     "node:\n  id: a\ndetector:\n  min_std_deviation: 100ms\n  kind: timeout\n", 4, 3,
     "detector.min_std_deviation", "only applies to kind phi, but kind is timeout"},
    {"bad_log_level", "node:\n  id: a\nlog:\n  level: verbose\n", 4, 10, "log.level",
     "expected one of trace, debug, info"},
    {"relative_socket", "node:\n  id: a\napi:\n  socket: vigil.sock\n", 4, 11, "api.socket",
     "expected an absolute path"},
    {"bad_mode", "node:\n  id: a\napi:\n  mode: \"0999\"\n", 4, 9, "api.mode",
     "expected an octal file mode"},
    {"peers_not_a_list", "node:\n  id: a\npeers:\n  b: 10.0.0.2\n", 4, 3, "peers",
     "expected a list of peers, found a mapping"},
    {"yaml_syntax", "node:\n  id: a\n  bind: [1, 2\n", 4, 1, "", "YAML syntax error"},
    {"duplicate_key", "node:\n  id: a\n  id: b\n", 3, 3, "node.id", "duplicate key"},
    {"invalid_id", "node:\n  id: \"has space\"\n", 2, 7, "node.id",
     "expected 1-64 characters"},
    {"bind_to_hostname", "node:\n  id: a\n  bind: example.com:7946\n", 3, 9, "node.bind",
     "expected an IP address to bind to"},
    {"max_sample_size_for_adaptive", "node:\n  id: a\ndetector:\n  max_sample_size: 50\n", 4, 3,
     "detector.max_sample_size", "only applies to kind phi, phi-exponential, but kind is adaptive"},
    {"max_sample_size_for_timeout",
     "node:\n  id: a\ndetector:\n  kind: timeout\n  max_sample_size: 50\n", 5, 3,
     "detector.max_sample_size", "only applies to kind phi, phi-exponential, but kind is timeout"},
    {"advertised_address_as_peer",
     "node:\n  id: a\n  advertise: 10.0.0.9:7946\npeers:\n  - id: b\n    address: 10.0.0.9\n", 6,
     14, "peers[0].address", "10.0.0.9:7946 is this node's own address"},
    {"max_sample_too_small", "node:\n  id: a\ndetector:\n  max_sample_size: 1\n", 4, 20,
     "detector.max_sample_size", "expected a whole number from 2 to 100000"},
    {"suspect_after_not_shorter",
     "node:\n  id: a\ndetector:\n  kind: timeout\n  timeout: 1s\n  suspect_after: 2s\n", 6, 3,
     "detector.suspect_after", "must be shorter than timeout (1s), found 2s"},
    {"empty_file", "", 1, 1, "", "the file is empty"},
    {"allow_uid_not_a_number", "node:\n  id: a\napi:\n  allow_uids: [1000, bob]\n", 4, 22,
     "api.allow_uids[1]", "expected a whole number, found 'bob'"},
    {"require_auth_without_keyring", "node:\n  id: a\nsecurity:\n  require_auth: true\n", 4, 17,
     "security.require_auth", "requires security.keyring"},
    {"relative_keyring", "node:\n  id: a\nsecurity:\n  keyring: keys\n", 4, 12,
     "security.keyring", "expected an absolute path"},
};

void PrintTo(const BadConfig& bad, std::ostream* os) { *os << bad.name; }

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, ReportsLineColumnKeyAndMessage) {
  const BadConfig& bad = GetParam();
  const auto r = LoadConfigString(bad.yaml, "bad.yaml");
  ASSERT_FALSE(r.ok()) << "config was accepted";
  EXPECT_FALSE(r.config.has_value());
  bool found = false;
  for (const auto& e : r.errors) {
    if (e.message.find(bad.message) != std::string::npos) {
      found = true;
      EXPECT_EQ(e.file, "bad.yaml");
      EXPECT_EQ(e.line, bad.line) << e.ToString();
      EXPECT_EQ(e.column, bad.column) << e.ToString();
      EXPECT_EQ(e.key, bad.key) << e.ToString();
      EXPECT_EQ(e.ToString().rfind("bad.yaml:" + std::to_string(bad.line) + ":", 0), 0u);
    }
  }
  if (!found) {
    std::string all;
    for (const auto& e : r.errors) all += "\n  " + e.ToString();
    ADD_FAILURE() << "no error contains \"" << bad.message << "\"; got:" << all;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, BadConfigTest, ::testing::ValuesIn(kBadConfigs),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Config, ReportsEveryErrorNotJustTheFirst) {
  const auto r = LoadConfigString(R"(node:
  id: a
heartbeat:
  interval: 10
detector:
  threshold: x
peers:
  - id: a
    address: nowhere:0
log:
  levl: info
)",
                                  "many.yaml");
  ASSERT_GE(r.errors.size(), 5u);
  for (std::size_t i = 1; i < r.errors.size(); ++i) {
    EXPECT_LE(r.errors[i - 1].line, r.errors[i].line);  // in file order
  }
}

TEST(Config, UnreadableFileIsAClearError) {
  const auto r = LoadConfigFile("/nonexistent/vigil.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("cannot read the file"), std::string::npos);
  EXPECT_NE(r.errors[0].ToString().find("/nonexistent/vigil.yaml"), std::string::npos);
}

TEST(Config, DirectoryIsNotAConfigFile) {
  const auto r = LoadConfigFile(std::filesystem::temp_directory_path().string());
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace vigil
