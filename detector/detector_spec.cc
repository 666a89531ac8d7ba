// Checks across detector knobs, and the knobs as YAML and as `--detector` specs, all from the
// one table (detector_knobs.h).
#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/did_you_mean.h"
#include "base/duration.h"
#include "detector/detector_knobs.h"

namespace vigil {

namespace {

// Why `key` cannot be set for `kind`: the usual sentence, or a pointer to what to set instead.
std::string WrongKind(const DetectorKnob& knob, DetectorKind kind) {
  if (knob.key == "threshold" && kind == DetectorKind::kTimeout) {
    return "kind timeout has no threshold; set 'timeout' (and optionally 'suspect_after')";
  }
  if (knob.key == "threshold" && kind == DetectorKind::kAdaptive) {
    return "kind adaptive has a fixed threshold of 1 (silence / allowed silence); tune "
           "'margin', 'memory' or 'target_mistakes_per_hour' instead";
  }
  if (knob.key == "suspect_threshold" && kind == DetectorKind::kTimeout) {
    return "kind timeout uses 'suspect_after', a duration";
  }
  return fmt::format("only applies to kind {}, but kind is {}", knob.kinds,
                     DetectorKindName(kind));
}

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(' ') - b + 1));
}

// Why a spec item `key` is not a knob.
std::string UnknownKey(std::string_view key) {
  std::vector<std::string_view> names;
  for (const auto& k : DetectorKnobs()) names.push_back(k.key);
  const auto hint = DidYouMean(key, names);
  return hint ? fmt::format("unknown key; did you mean '{}'?", *hint)
              : fmt::format("unknown key; expected one of: {}", fmt::join(names, ", "));
}

}  // namespace

std::vector<KnobProblem> CheckDetectorOptions(const DetectorOptions& d,
                                              std::span<const std::string> given) {
  std::vector<KnobProblem> problems;
  std::set<std::string> sorted(given.begin(), given.end());
  const DetectorKind kind = d.kind();
  for (const auto& key : sorted) {
    const DetectorKnob* knob = FindDetectorKnob(key);
    if (knob && !knob->AppliesTo(kind)) problems.push_back({key, WrongKind(*knob, kind)});
  }
  const bool adaptive = kind == DetectorKind::kAdaptive;
  const bool timeout = kind == DetectorKind::kTimeout;
  if (adaptive && d.suspect_threshold && *d.suspect_threshold >= 1.0) {
    problems.push_back({"suspect_threshold",
                        fmt::format("for kind adaptive, a fraction of the allowed silence "
                                    "below 1, found {}",
                                    *d.suspect_threshold)});
  }
  if (d.suspect_threshold && !timeout && !adaptive && *d.suspect_threshold >= d.threshold) {
    problems.push_back({"suspect_threshold", fmt::format("must be below threshold ({}), found {}",
                                                         d.threshold, *d.suspect_threshold)});
  }
  const auto* t = d.knobs_if<TimeoutKnobs>();
  if (t && t->suspect_after && *t->suspect_after >= t->timeout) {
    problems.push_back({"suspect_after", fmt::format("must be shorter than timeout ({}), found {}",
                                                     FormatDuration(t->timeout),
                                                     FormatDuration(*t->suspect_after))});
  }
  return problems;
}

std::string DetectorYaml(const DetectorOptions& options, std::span<const std::string> keys) {
  std::string yaml = fmt::format("detector:\n  kind: {}\n", DetectorKindName(options.kind()));
  for (const auto& key : keys) {
    const DetectorKnob* knob = FindDetectorKnob(key);
    if (!knob || key == "kind") continue;
    if (const auto value = knob->Get(options)) yaml += fmt::format("  {}: {}\n", key, *value);
  }
  return yaml;
}

std::string DetectorSpecText(const DetectorOptions& options, std::span<const std::string> keys) {
  std::string spec(DetectorKindName(options.kind()));
  char separator = ':';
  for (const auto& key : keys) {
    const DetectorKnob* knob = FindDetectorKnob(key);
    if (!knob || key == "kind") continue;
    if (const auto value = knob->Get(options)) {
      spec += fmt::format("{}{}={}", separator, key, *value);
      separator = ',';
    }
  }
  return spec;
}

Result<DetectorSpec> ParseDetectorSpec(const std::string& text) {
  auto fail = [&](std::string_view key, const std::string& why) {
    return Status::InvalidArgument(fmt::format("--detector {}: detector.{}: {}", text, key, why));
  };
  DetectorOptions options;
  // The kind leads the spec, so it is applied before the knobs it would otherwise reset.
  const auto colon = text.find(':');
  if (const auto e = FindDetectorKnob("kind")->Set(options, Trim(text.substr(0, colon)))) {
    return fail("kind", *e);
  }
  std::vector<std::string> given{"kind"};
  std::string_view rest = colon == std::string::npos ? "" : std::string_view(text).substr(colon + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::InvalidArgument(
          fmt::format("--detector {}: expected key=value, found '{}'", text, item));
    }
    const std::string key = Trim(item.substr(0, eq));
    const DetectorKnob* knob = FindDetectorKnob(key);
    if (!knob) return fail(key, UnknownKey(key));
    if (std::find(given.begin(), given.end(), key) != given.end()) {
      return fail(key, "duplicate key (the earlier value would be lost)");
    }
    if (const auto e = knob->Apply(options, Trim(item.substr(eq + 1)))) return fail(key, *e);
    given.push_back(key);
  }
  if (const auto problems = CheckDetectorOptions(options, given); !problems.empty()) {
    return fail(problems.front().key, problems.front().message);
  }
  return DetectorSpec{text, options};
}

}  // namespace vigil
