// Typed reads of a YAML tree that report every problem, located in the file, into one list
// (the configuration loader's tools). yaml-cpp throws; callers catch at the edge.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace vigil {

// "nothing", "a list", "a mapping" or the scalar in quotes, for "found ..." messages.
std::string Describe(const YAML::Node& n);

// Not thread-safe; one per file read.
class YamlReader {
 public:
  using Keys = std::initializer_list<std::string_view>;

  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  std::vector<ConfigError>& errors() { return errors_; }
  void Error(const YAML::Mark& mark, std::string key, std::string message);
  void Error(const YAML::Node& at, std::string key, std::string message) {
    Error(at.Mark(), std::move(key), std::move(message));
  }
  static std::string Join(std::string_view path, std::string_view key);

  // Requires `n` to be a mapping whose keys are all in `allowed`; reports unknown and
  // duplicate keys. Returns false if it is not a mapping at all (or is empty).
  bool CheckMap(const YAML::Node& n, std::string_view path, Keys allowed) {
    return CheckMap(n, path, std::vector<std::string_view>(allowed));
  }
  bool CheckMap(const YAML::Node& n, std::string_view path,
                const std::vector<std::string_view>& allowed);

  // Each returns nullopt after reporting why the value is not what was asked for.
  std::optional<std::string> String(const YAML::Node& n, const std::string& path);
  std::optional<Duration> DurationValue(const YAML::Node& n, const std::string& path,
                                        bool allow_zero);
  std::optional<double> Number(const YAML::Node& n, const std::string& path, double lo,
                               double hi, bool lo_inclusive);
  std::optional<bool> Bool(const YAML::Node& n, const std::string& path);
  std::optional<std::int64_t> Integer(const YAML::Node& n, const std::string& path,
                                      std::int64_t lo, std::int64_t hi);
  std::optional<Endpoint> EndpointValue(const YAML::Node& n, const std::string& path);
  // An absolute path (api.socket, state.directory, security.keyring).
  std::optional<std::string> AbsolutePath(const YAML::Node& n, const std::string& path);
  bool ValidId(const YAML::Node& n, const std::string& path, const std::string& id);

  // Applies the detector keys present in `n` onto `into` (detector/detector_knobs.h);
  // `given` collects where each key was given.
  void Detector(const YAML::Node& n, const std::string& path, DetectorOptions& into,
                std::map<std::string, YAML::Mark>& given);
  // The checks across keys of a merged detector configuration; a problem of a key not
  // given here is reported at `where`.
  void CheckDetector(const DetectorOptions& d, const std::string& path,
                     const std::map<std::string, YAML::Mark>& given, const YAML::Mark& where);

 private:
  // Reports unknown and duplicate keys of mapping `n` against `allowed`.
  void CheckKeys(const YAML::Node& n, std::string_view path,
                 const std::vector<std::string_view>& allowed);

  std::string file_;
  std::vector<ConfigError> errors_;
};

}  // namespace vigil
