// The one declaration of every setting (config/settings.h): docs/configuration.md agrees with
// it, and the YAML writer built on it gives back what the loader read.
#include "config/settings.h"

#include <gtest/gtest.h>

#include "config/config_writer.h"
#include "tests/doc_table.h"

namespace vigil {
namespace {

using testing::DocTable;
using testing::Unquote;

TEST(Settings, TheDocsListEverySettingWithItsTypeAndDefault) {
  const auto documented = DocTable("configuration.md", "## Keys");
  ASSERT_FALSE(documented.empty()) << "no Keys table in docs/configuration.md";
  const Config defaults;
  for (const auto& s : Settings()) {
    const auto row = documented.find(std::string(s.key));
    ASSERT_NE(row, documented.end()) << s.key << " is not in docs/configuration.md";
    EXPECT_EQ(row->second.at(1), s.TypeText()) << s.key;
    const std::string& doc = row->second.at(2);
    if (!s.default_rule.empty()) {
      EXPECT_EQ(doc, s.default_rule) << s.key;
      continue;
    }
    const YAML::Node value = s.write(defaults, s);
    if (value.IsNull()) {
      EXPECT_EQ(doc, "unset") << s.key;
    } else if (value.IsSequence()) {
      EXPECT_EQ(doc, value.size() == 0 ? "empty" : "?") << s.key;
    } else {
      EXPECT_EQ(Unquote(Unquote(doc, '`'), '"'), value.Scalar()) << s.key;
    }
  }
  // And nothing in the table that vigil does not read (the two sections with their own
  // tables aside).
  for (const auto& [key, row] : documented) {
    if (key == "detector" || key == "peers") continue;
    bool known = false;
    for (const auto& s : Settings()) known = known || s.key == key;
    EXPECT_TRUE(known) << key << " is documented but not a setting";
  }
}

TEST(Settings, EverySectionKeyIsReadFromTheTable) {
  // A key the table declares is accepted in its section; a near miss gets a suggestion.
  for (const auto& s : Settings()) {
    const std::string section(s.Section());
    const std::string near_miss = std::string(s.Name()) + "x: 1\n";
    const std::string yaml = section == "node" ? "node:\n  id: a\n  " + near_miss
                                               : "node:\n  id: a\n" + section + ":\n  " + near_miss;
    const auto loaded = LoadConfigString(yaml, "t.yaml");
    ASSERT_EQ(loaded.errors.size(), 1u) << yaml;
    EXPECT_NE(loaded.errors[0].message.find("did you mean '" + std::string(s.Name()) + "'"),
              std::string::npos)
        << loaded.errors[0].ToString();
  }
}

Config MustLoad(const std::string& yaml) {
  auto loaded = LoadConfigString(yaml, "t.yaml");
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].ToString());
  return loaded.config.value_or(Config{});
}

void ExpectRoundTrip(const std::string& yaml) {
  const Config first = MustLoad(yaml);
  const std::string written = ConfigYaml(first);
  Config second = MustLoad(written);
  second.source = first.source;
  EXPECT_TRUE(second == first) << "written:\n" << written;
  EXPECT_EQ(ConfigYaml(second), written);  // and writing is stable
}

TEST(ConfigWriter, TheDefaultsRoundTrip) { ExpectRoundTrip("node:\n  id: a\n"); }

// Every setting at a value other than its default, so that every read and write is used.
const char kEverySetting[] = R"(node:
  id: n1
  bind: "[::]:7000"
  advertise: n1.example:7000
  receive_coalesce: 0s
heartbeat: {interval: 250ms, jitter: 0}
detector: {kind: phi, threshold: 5, acceptable_heartbeat_pause: 2s, rise: 3}
recording: {enabled: true, max_file_mib: 2, max_files: 9}
peers:
  - {id: b, address: 10.0.0.2}
  - {id: c, address: "[fd00::3]:7001", record: false, detector: {kind: timeout, timeout: 900ms, suspect_after: 400ms}}
  - {id: d, address: d.example, detector: {threshold: 9, max_sample_size: 50}}
  - {id: e, address: 10.0.0.5, detector: {kind: adaptive, margin: 2, suspect_threshold: 0.5}}
api: {socket: /tmp/v.sock, mode: "0600", max_connections: 7, idle_timeout: 5s, sse_buffer: 4096, allow_uids: [0, 1000], allow_gids: [27]}
metrics: {listen: 127.0.0.1:9100, peer_series_limit: 25}
log: {level: debug}
state: {directory: /tmp/vigil-state}
events: {ring_size: 16}
security: {keyring: /etc/vigil/keys, require_auth: true, require_echo: true, check_source_address: false}
enrollment: {enabled: true, id_pattern: "u-*", max_peers: 5, retention: 2m}
)";

// A cluster member has no peers: and no enrollment, so its settings get a file of their own.
const char kEveryClusterSetting[] = R"(node: {id: n1, bind: "[::]:7946", advertise: "[fd00::1]"}
security: {keyring: /etc/vigil/keys}
cluster: {seeds: [10.0.0.2, "[fd00::3]:7001"]}
)";

TEST(ConfigWriter, EverySectionRoundTrips) {
  ExpectRoundTrip(kEverySetting);
  ExpectRoundTrip(kEveryClusterSetting);
  const Config every = MustLoad(kEverySetting);
  const Config cluster = MustLoad(kEveryClusterSetting);
  const Config defaults;
  for (const auto& s : Settings()) {
    const bool member = s.Section() == "cluster";
    EXPECT_FALSE(s.same(member ? cluster : every, defaults))
        << s.key << " is not exercised by " << (member ? "kEveryClusterSetting" : "kEverySetting");
  }
}

TEST(ConfigWriter, APeerListsOnlyWhatItOverrides) {
  const Config c = MustLoad(
      "node: {id: a}\ndetector: {kind: timeout, timeout: 2s}\n"
      "peers:\n  - {id: b, address: 10.0.0.2, detector: {timeout: 3s}}\n"
      "  - {id: c, address: 10.0.0.3}\n");
  const std::string written = ConfigYaml(c);
  const YAML::Node root = YAML::Load(written);
  EXPECT_EQ(root["detector"]["timeout"].Scalar(), "2s");
  EXPECT_EQ(root["peers"][0]["detector"]["timeout"].Scalar(), "3s");
  EXPECT_FALSE(root["peers"][0]["detector"]["kind"]) << written;
  EXPECT_FALSE(root["peers"][1]["detector"]) << written;
  EXPECT_FALSE(root["peers"][1]["record"]) << written;
}

TEST(Settings, OnlyAnEmptyMetricsListenMeansUnset) {
  EXPECT_FALSE(MustLoad("node: {id: a}\nmetrics: {listen: }\n").metrics.listen);
  const auto advertise = LoadConfigString("node: {id: a, advertise: }\n", "t.yaml");
  ASSERT_EQ(advertise.errors.size(), 1u);
  EXPECT_EQ(advertise.errors[0].key, "node.advertise");
  // An empty keyring never turns authentication off, and is reported once.
  const auto keyring =
      LoadConfigString("node: {id: a}\nsecurity: {keyring: , require_auth: true}\n", "t.yaml");
  ASSERT_EQ(keyring.errors.size(), 1u) << (keyring.errors.empty() ? "" : keyring.errors.back().ToString());
  EXPECT_EQ(keyring.errors[0].key, "security.keyring");
  EXPECT_NE(keyring.errors[0].message.find("found nothing"), std::string::npos);
}

}  // namespace
}  // namespace vigil
