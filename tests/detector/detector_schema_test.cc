// The one declaration of every detector knob (detector/detector_knobs.h): docs/configuration.md
// agrees with it, specs and YAML round-trip through it, and its messages are the loader's.
#include "detector/detector_knobs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string_view>
#include <variant>
#include <vector>

#include "base/duration.h"
#include "tests/doc_table.h"

namespace vigil {
namespace {

struct DocRow {
  std::string kinds;
  std::string default_text;
};

// The rows of the "Detector keys" table of docs/configuration.md, by key.
std::map<std::string, DocRow> DocumentedKnobs() {
  std::map<std::string, DocRow> rows;
  for (const auto& [key, cells] : testing::DocTable("configuration.md", "### Detector keys")) {
    rows[key] = {cells.at(1), testing::Unquote(cells.at(3), '`')};
  }
  return rows;
}

// The defaults of the first kind `knob` applies to (the default kind for every-kind knobs):
// a knob of one kind has no value in options of another.
DetectorOptions DefaultsFor(const DetectorKnob& knob) {
  DetectorOptions defaults;
  const std::string_view first = knob.kinds.substr(0, knob.kinds.find(", "));
  if (!first.empty()) defaults.set_kind(*ParseDetectorKind(first));
  return defaults;
}

const DetectorKind kAllKinds[] = {DetectorKind::kPhi, DetectorKind::kPhiExponential,
                                  DetectorKind::kTimeout, DetectorKind::kAdaptive};

TEST(DetectorSchema, TheDocsListEveryKnobWithItsKindsAndDefault) {
  const auto documented = DocumentedKnobs();
  ASSERT_FALSE(documented.empty()) << "no Detector keys table in docs/configuration.md";
  EXPECT_EQ(documented.size(), DetectorKnobs().size());
  for (const auto& knob : DetectorKnobs()) {
    const auto row = documented.find(std::string(knob.key));
    ASSERT_NE(row, documented.end()) << knob.key << " is not in docs/configuration.md";
    EXPECT_EQ(row->second.kinds, knob.kinds.empty() ? "all" : std::string(knob.kinds))
        << knob.key;
    const auto value = knob.Get(DefaultsFor(knob));
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
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  const DetectorOptions& o = parsed->options;
  EXPECT_EQ(o.kind(), DetectorKind::kPhi);
  EXPECT_EQ(o.threshold, 3.5);
  EXPECT_EQ(std::get<PhiKnobs>(o.knobs).acceptable_heartbeat_pause,
            std::chrono::milliseconds(250));
  const std::vector<std::string> keys{"threshold", "acceptable_heartbeat_pause"};
  EXPECT_EQ(DetectorSpecText(o, keys), "phi:threshold=3.5,acceptable_heartbeat_pause=250ms");
  EXPECT_EQ(DetectorYaml(o, keys),
            "detector:\n  kind: phi\n  threshold: 3.5\n  acceptable_heartbeat_pause: 250ms\n");
  const auto again = ParseDetectorSpec(DetectorSpecText(o, keys));
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(again->options, o);
  // Every knob of every kind survives Get then Set: o's for phi, the defaults for the others.
  for (const DetectorKind kind : kAllKinds) {
    DetectorOptions from = o;
    from.set_kind(kind);
    for (const auto& knob : DetectorKnobs()) {
      DetectorOptions copy;
      copy.set_kind(kind);
      const auto text = knob.Get(from);
      // Unset, or zero standing for "derived from the interval" (not a value one can write).
      if (!text || (*text == "0s" && !knob.low_inclusive)) continue;
      EXPECT_FALSE(knob.Set(copy, *text)) << knob.key;
      EXPECT_EQ(knob.Get(copy), text) << knob.key;
    }
  }
}

TEST(DetectorSchema, APerKindKnobHasAPlaceExactlyInTheKindsItAppliesTo) {
  // A shared field takes a value whatever the kind; a field of one kind's knobs only in that
  // kind, which must be the kind the table says it applies to. Elsewhere Set changes nothing.
  for (const auto& knob : DetectorKnobs()) {
    if (knob.key == "kind") continue;
    const std::string_view expected = knob.Expected();
    const std::string value = expected == "a number"         ? "1.5"
                              : expected == "a whole number" ? "50"
                                                             : "2s";
    std::vector<DetectorKind> placed;
    for (const DetectorKind kind : kAllKinds) {
      DetectorOptions o;
      o.set_kind(kind);
      const DetectorOptions before = o;
      if (const auto error = knob.Set(o, value)) {
        EXPECT_EQ(*error, "does not apply to kind " + std::string(DetectorKindName(kind)))
            << knob.key;
        EXPECT_TRUE(o == before) << knob.key;
        EXPECT_FALSE(knob.Get(o)) << knob.key;
      } else {
        placed.push_back(kind);
      }
    }
    if (placed.size() == std::size(kAllKinds)) continue;  // a shared field
    for (const DetectorKind kind : kAllKinds) {
      const bool has_place = std::find(placed.begin(), placed.end(), kind) != placed.end();
      EXPECT_EQ(knob.AppliesTo(kind), has_place) << knob.key << ", " << DetectorKindName(kind);
    }
  }
}

TEST(DetectorSchema, SpecErrorsNameTheKeyAsTheConfigurationWould) {
  auto error = [](const std::string& spec) { return ParseDetectorSpec(spec).message(); };
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
