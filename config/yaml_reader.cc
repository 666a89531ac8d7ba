#include "config/yaml_reader.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/did_you_mean.h"
#include "base/duration.h"
#include "base/value_text.h"
#include "detector/detector_knobs.h"

namespace vigil {

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "'" + n.Scalar() + "'";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

void YamlReader::Error(const YAML::Mark& mark, std::string key, std::string message) {
  ConfigError e;
  e.file = file_;
  if (mark.line >= 0) {
    e.line = mark.line + 1;
    e.column = mark.column + 1;
  }
  e.key = std::move(key);
  e.message = std::move(message);
  errors_.push_back(std::move(e));
}

std::string YamlReader::Join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

bool YamlReader::CheckMap(const YAML::Node& n, std::string_view path,
                          const std::vector<std::string_view>& allowed) {
  if (n.IsNull()) return false;  // a section left empty (all commented out): nothing set
  if (!n.IsMap()) {
    Error(n, std::string(path), "expected a mapping, found " + Describe(n));
    return false;
  }
  CheckKeys(n, path, allowed);
  return true;
}

void YamlReader::CheckKeys(const YAML::Node& n, std::string_view path,
                           const std::vector<std::string_view>& allowed) {
  std::set<std::string> seen;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {
      Error(kv.first, std::string(path), "expected a key name, found " + Describe(kv.first));
      continue;
    }
    const std::string key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      Error(kv.first, Join(path, key), "duplicate key (the earlier value would be lost)");
    }
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      auto hint = DidYouMean(key, allowed);
      Error(kv.first, Join(path, key),
            hint ? fmt::format("unknown key; did you mean '{}'?", *hint)
                 : fmt::format("unknown key; expected one of: {}", fmt::join(allowed, ", ")));
    }
  }
}

std::optional<std::string> YamlReader::String(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) {
    Error(n, path, "expected a string, found " + Describe(n));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<Duration> YamlReader::DurationValue(const YAML::Node& n, const std::string& path,
                                                  bool allow_zero) {
  if (!n.IsScalar()) {
    Error(n, path, "expected a duration such as 250ms, 1.5s or 2m, found " + Describe(n));
    return std::nullopt;
  }
  auto d = ParseDurationIn(n.Scalar(), allow_zero);
  if (!d) {
    Error(n, path, d.message());
    return std::nullopt;
  }
  return *d;
}

std::optional<double> YamlReader::Number(const YAML::Node& n, const std::string& path,
                                         double lo, double hi, bool lo_inclusive) {
  if (!n.IsScalar()) {
    Error(n, path, "expected a number, found " + Describe(n));
    return std::nullopt;
  }
  auto v = ParseNumberIn(n.Scalar(), lo, hi, lo_inclusive);
  if (!v) {
    Error(n, path, v.message());
    return std::nullopt;
  }
  return *v;
}

std::optional<bool> YamlReader::Bool(const YAML::Node& n, const std::string& path) {
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    Error(n, path, "expected true or false, found " + Describe(n));
    return std::nullopt;
  }
  return v;
}

std::optional<std::int64_t> YamlReader::Integer(const YAML::Node& n, const std::string& path,
                                                std::int64_t lo, std::int64_t hi) {
  if (!n.IsScalar()) {
    Error(n, path, "expected a whole number, found " + Describe(n));
    return std::nullopt;
  }
  auto v = ParseWholeIn(n.Scalar(), lo, hi);
  if (!v) {
    Error(n, path, v.message());
    return std::nullopt;
  }
  return *v;
}

std::optional<Endpoint> YamlReader::EndpointValue(const YAML::Node& n, const std::string& path) {
  const auto s = String(n, path);
  if (!s) return std::nullopt;
  auto ep = ParseEndpoint(*s);
  if (!ep) {
    Error(n, path, "expected an address such as 10.0.0.2:7946 or [::1]:7946: " + ep.message());
    return std::nullopt;
  }
  return *ep;
}

std::optional<std::string> YamlReader::AbsolutePath(const YAML::Node& n,
                                                    const std::string& path) {
  auto s = String(n, path);
  if (s && (s->empty() || s->front() != '/')) {
    Error(n, path, fmt::format("expected an absolute path, found '{}'", *s));
    return std::nullopt;
  }
  return s;
}

bool YamlReader::ValidId(const YAML::Node& n, const std::string& path, const std::string& id) {
  const bool ok = !id.empty() && id.size() <= 64 && IsIdText(id);
  if (!ok) {
    Error(n, path,
          fmt::format("expected 1-64 characters of letters, digits, '.', '_' or '-', found '{}'",
                      id));
  }
  return ok;
}

void YamlReader::Detector(const YAML::Node& n, const std::string& path, DetectorOptions& into,
                          std::map<std::string, YAML::Mark>& given) {
  if (!n.IsMap()) {
    Error(n, path, "expected a mapping, found " + Describe(n));
    return;
  }
  std::vector<std::string_view> names;
  for (const auto& k : DetectorKnobs()) names.push_back(k.key);
  CheckKeys(n, path, names);
  // `kind` first, wherever it stands: a change of kind resets the per-kind knobs, which
  // would lose those given before it. Its error, if any, is reported in order below, where
  // setting it again changes nothing.
  if (const YAML::Node kind = n["kind"]; kind && kind.IsScalar()) {
    FindDetectorKnob("kind")->Set(into, kind.Scalar());
  }
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) continue;
    const std::string key = kv.first.Scalar();
    const DetectorKnob* knob = FindDetectorKnob(key);
    if (!knob) continue;  // reported by CheckKeys
    given[key] = kv.first.Mark();
    const std::string kpath = Join(path, key);
    if (!kv.second.IsScalar()) {
      Error(kv.second, kpath,
            fmt::format("expected {}, found {}", knob->Expected(), Describe(kv.second)));
    } else if (const auto why = knob->Apply(into, kv.second.Scalar())) {
      Error(kv.second, kpath, *why);
    }
  }
}

void YamlReader::CheckDetector(const DetectorOptions& d, const std::string& path,
                               const std::map<std::string, YAML::Mark>& given,
                               const YAML::Mark& where) {
  std::vector<std::string> keys;
  for (const auto& [key, mark] : given) keys.push_back(key);
  for (const auto& problem : CheckDetectorOptions(d, keys)) {
    const auto at = given.find(problem.key);
    Error(at == given.end() ? where : at->second, Join(path, problem.key), problem.message);
  }
}

}  // namespace vigil
