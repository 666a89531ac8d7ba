// The detector's settings, each declared once: key, the kinds it applies to, type, range,
// default (DetectorOptions of the knob's first kind), meaning. The YAML loader (config/),
// `--detector` specs (vigilctl replay, tune), tune's YAML output and the test that checks
// docs/configuration.md all read this table; nothing else lists the knobs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "detector/detector_options.h"

namespace vigil {

struct DetectorKnob {
  // The `kind` entry: read with DetectorOptions::kind(), written with set_kind().
  struct KindField {};
  // Where the value lives: the kind, a shared field of DetectorOptions, or a field of one
  // kind's knobs (kept only while the options are of that kind).
  using Field = std::variant<KindField, double DetectorOptions::*,
                             std::optional<double> DetectorOptions::*,
                             std::size_t DetectorOptions::*, std::uint32_t DetectorOptions::*,
                             Duration PhiKnobs::*, Duration ExponentialKnobs::*,
                             Duration TimeoutKnobs::*, std::optional<Duration> TimeoutKnobs::*,
                             Duration AdaptiveKnobs::*, double AdaptiveKnobs::*>;

  std::string_view key;
  std::string_view kinds;  // the kinds it applies to, ", "-separated; empty: every kind
  Field field;
  // Bounds: numbers and whole numbers lie in [low, high] (low excluded unless
  // low_inclusive); durations in [low, high] seconds, zero allowed only if low_inclusive.
  double low = 0;
  double high = 0;
  bool low_inclusive = false;
  std::string_view meaning;  // as docs/configuration.md states it

  // "a number", "a whole number", "a duration such as 250ms, 1.5s or 2m", "a string".
  std::string_view Expected() const;
  // Whether the knob applies to `kind`.
  bool AppliesTo(DetectorKind kind) const;
  // Sets the knob from its text. On failure returns the message (without the key), the
  // same for YAML and for `--detector`, and leaves `options` unchanged. Fails for a field
  // of another kind's knobs ("does not apply to kind ..."): `options` has no place for it.
  // Setting `kind` to another kind resets the per-kind knobs to that kind's defaults.
  std::optional<std::string> Set(DetectorOptions& options, std::string_view text) const;
  // Checks `text` as Set would, whatever the kind, storing nothing.
  std::optional<std::string> Check(std::string_view text) const;
  // Applies a key given in a `detector:` mapping or a spec, once `kind` is applied: Set,
  // or only Check for a field of another kind's knobs (CheckDetectorOptions then reports
  // the key as given for the wrong kind, naming what to set instead).
  std::optional<std::string> Apply(DetectorOptions& options, std::string_view text) const;
  // The value as YAML and specs write it ("8", "250ms", "phi"); nullopt if unset or a
  // field of another kind's knobs.
  std::optional<std::string> Get(const DetectorOptions& options) const;
};

// Every knob, `kind` first.
std::span<const DetectorKnob> DetectorKnobs();
const DetectorKnob* FindDetectorKnob(std::string_view key);

// One problem of a combination of knobs.
struct KnobProblem {
  std::string key;
  std::string message;
};
// The checks across knobs: a knob given (`given` keys) for a kind it does not apply to, a
// suspect level not below the threshold, suspect_after not shorter than timeout.
std::vector<KnobProblem> CheckDetectorOptions(const DetectorOptions& options,
                                              std::span<const std::string> given);

// A `detector:` YAML section (two-space indent) with `kind` and the knobs `keys`, in the
// order of `keys` (unset optional knobs are left out). Requires keys that apply to the kind.
std::string DetectorYaml(const DetectorOptions& options, std::span<const std::string> keys);
// The same as a spec: "kind:key=value,...".
std::string DetectorSpecText(const DetectorOptions& options, std::span<const std::string> keys);

// A detector as `vigilctl replay --detector` names it: KIND[:key=value,...], the keys and
// values of the `detector:` section of vigil.yaml, e.g.
// "phi:threshold=8,acceptable_heartbeat_pause=3s" or "timeout:timeout=450ms".
struct DetectorSpec {
  std::string text;  // as given, for reports
  DetectorOptions options;
};
// Parses a spec with the same checks and messages as the configuration loader. On failure
// InvalidArgument, naming the key as the configuration would: "--detector phi:threshold=x:
// detector.threshold: expected a number, found 'x'".
Result<DetectorSpec> ParseDetectorSpec(const std::string& text);

}  // namespace vigil
