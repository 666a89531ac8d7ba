// The one declaration of every detector knob (detector/detector_knobs.h): docs/configuration.md
// agrees with it, specs and YAML round-trip through it, and its messages are the loader's.
#include "detector/detector_knobs.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "base/duration.h"

namespace vigil {
namespace {

struct DocRow {
  std::string kinds;
  std::string default_text;
};

// The rows of the "Detector keys" table of docs/configuration.md, by key.
std::map<std::string, DocRow> DocumentedKnobs() {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/configuration.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  std::map<std::string, DocRow> rows;
  std::istringstream lines(doc.substr(doc.find("### Detector keys")));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line) && (line.empty() || line[0] == '|' || rows.empty())) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream row(line.substr(1));
    while (std::getline(row, cell, '|')) cells.push_back(cell.substr(1, cell.size() - 2));
    auto unquote = [](std::string s) {
      return s.size() >= 2 && s.front() == '`' && s.back() == '`' ? s.substr(1, s.size() - 2) : s;
    };
    rows[unquote(cells.at(0))] = {cells.at(1), unquote(cells.at(3))};
  }
  return rows;
}

TEST(DetectorSchema, TheDocsListEveryKnobWithItsKindsAndDefault) {
  const auto documented = DocumentedKnobs();
  ASSERT_FALSE(documented.empty()) << "no Detector keys table in docs/configuration.md";
  EXPECT_EQ(documented.size(), DetectorKnobs().size());
  const DetectorOptions defaults;
  for (const auto& knob : DetectorKnobs()) {
    const auto row = documented.find(std::string(knob.key));
    ASSERT_NE(row, documented.end()) << knob.key << " is not in docs/configuration.md";
    EXPECT_EQ(row->second.kinds, knob.kinds.empty() ? "all" : std::string(knob.kinds))
        << knob.key;
    const auto value = knob.Get(defaults);
    const std::string& doc = row->second.default_text;
    if (!value) {
      EXPECT_EQ(doc, "unset") << knob.key;
    } else if (*value == "0s" && doc.find("heartbeat.interval") != std::string::npos) {
      // Zero stands for a value derived from the interval, as the docs say.
    } else if (const auto d = ParseDuration(doc)) {
      EXPECT_EQ(FormatDuration(*d), *value) << knob.key;
    } else {
      EXPECT_EQ(doc, *value) << knob.key;
    }
  }
}

TEST(DetectorSchema, SpecsAndYamlRoundTripThroughTheTable) {
  const auto parsed = ParseDetectorSpec("phi:threshold=3.5,acceptable_heartbeat_pause=250ms");
  ASSERT_TRUE(parsed.spec) << parsed.error;
  const DetectorOptions& o = parsed.spec->options;
  EXPECT_EQ(o.kind, DetectorKind::kPhi);
  EXPECT_EQ(o.threshold, 3.5);
  EXPECT_EQ(o.acceptable_heartbeat_pause, std::chrono::milliseconds(250));
  const std::vector<std::string> keys{"threshold", "acceptable_heartbeat_pause"};
  EXPECT_EQ(DetectorSpecText(o, keys), "phi:threshold=3.5,acceptable_heartbeat_pause=250ms");
  EXPECT_EQ(DetectorYaml(o, keys),
            "detector:\n  kind: phi\n  threshold: 3.5\n  acceptable_heartbeat_pause: 250ms\n");
  const auto again = ParseDetectorSpec(DetectorSpecText(o, keys));
  ASSERT_TRUE(again.spec) << again.error;
  EXPECT_EQ(again.spec->options, o);
  // Every knob of every kind survives Get then Set.
  for (const auto& knob : DetectorKnobs()) {
    DetectorOptions copy;
    const auto text = knob.Get(o);
    // Unset, or zero standing for "derived from the interval" (not a value one can write).
    if (!text || (*text == "0s" && !knob.low_inclusive)) continue;
    EXPECT_FALSE(knob.Set(copy, *text)) << knob.key;
    EXPECT_EQ(knob.Get(copy), text) << knob.key;
  }
}

TEST(DetectorSchema, SpecErrorsNameTheKeyAsTheConfigurationWould) {
  auto error = [](const std::string& spec) { return ParseDetectorSpec(spec).error; };
  EXPECT_EQ(error("phi:threshold=high"),
            "--detector phi:threshold=high: detector.threshold: expected a number, found 'high'");
  EXPECT_EQ(error("timeout:timeout=5"),
            "--detector timeout:timeout=5: detector.timeout: expected a duration such as "
            "250ms, 1.5s or 2m, found '5' (a duration needs a unit)");
  EXPECT_EQ(error("adaptive:memory=2d"),
            "--detector adaptive:memory=2d: detector.memory: expected a duration such as "
            "250ms, 1.5s or 2m, found '2d'");
  EXPECT_EQ(error("adaptive:memory=25h"),
            "--detector adaptive:memory=25h: detector.memory: expected a duration from 1s to "
            "24h, found 25h");
  EXPECT_EQ(error("timeout:min_std_deviation=1s"),
            "--detector timeout:min_std_deviation=1s: detector.min_std_deviation: only applies "
            "to kind phi, but kind is timeout");
  EXPECT_EQ(error("phi:treshold=8"),
            "--detector phi:treshold=8: detector.treshold: unknown key; did you mean "
            "'threshold'?");
  EXPECT_EQ(error("gossip"), "--detector gossip: detector.kind: expected one of adaptive, phi, "
                             "phi-exponential, timeout, found 'gossip'");
  EXPECT_EQ(error("phi:threshold"), "--detector phi:threshold: expected key=value, found "
                                    "'threshold'");
  EXPECT_EQ(error("phi:threshold=4,suspect_threshold=5"),
            "--detector phi:threshold=4,suspect_threshold=5: detector.suspect_threshold: must "
            "be below threshold (4), found 5");
}

}  // namespace
}  // namespace vigil
