// Every setting of vigil.yaml outside `detector:` (detector/detector_knobs.h) and the per-peer
// keys of `peers:` (config/peer_section.cc), each declared once: key, type, range, how it is
// read and how it is written. The default is the value of a default-constructed Config,
// written nowhere else. The loader (config_loader.cc), the YAML writer (config_writer.h) and
// the test that checks docs/configuration.md's "Keys" table all read this table.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/config.h"

namespace vigil {

class YamlReader;

enum class SettingType : std::uint8_t {
  kId,         // 1–64 letters, digits, '.', '_', '-'
  kIpAddress,  // IP address[:port]; a host name is an error
  kAddress,    // host[:port], host names allowed
  kDuration,   // "250ms"; in [low, high] seconds (high 0: no upper bound); > 0 unless low is 0
  kNumber,     // decimal, in [low, high]
  kWhole,      // whole number in [low, high]; `unit` names what it counts
  kMebibytes,  // whole number of MiB in [low, high], kept in bytes
  kBool,
  kAbsolutePath,
  kSocketPath,  // an absolute path shorter than 108 bytes (sun_path)
  kFileMode,    // octal string such as "0660"
  kLogLevel,    // one of kLogLevels
  kNumericIds,  // a list of uids or gids
  kIdPattern,   // a glob of id characters and * ? [ ] !
  kAddressList,  // a list of address[:port]: IP addresses or host names
};

// What a reload (SIGHUP) does with a changed value.
enum class OnReload : std::uint8_t {
  kApply,    // applied at once
  kRestart,  // lives in a bound socket or open file: logged, the running value kept
  kRefuse,   // the reload is refused (node.id: the node's identity)
};

struct Setting {
  std::string_view key;  // dotted: "api.max_connections"
  SettingType type;
  double low = 0;
  double high = 0;
  std::string_view unit;  // kWhole: "bytes" or empty
  // The docs' "default" cell when it is not Config{}'s value: a default that follows from
  // other settings, or "**required**".
  std::string_view default_rule;
  // Reads `value` (the key is present) into `config`; reports problems to `reader` and then
  // leaves `config` unchanged.
  void (*read)(YamlReader& reader, const YAML::Node& value, const Setting& setting, Config& config);
  // The value as vigil.yaml writes it; a null node when unset (or, for node.id, empty).
  YAML::Node (*write)(const Config& config, const Setting& setting);
  // Whether `a` and `b` hold the same value, and copying it from `from` into `to`.
  bool (*same)(const Config& a, const Config& b);
  void (*copy)(const Config& from, Config& to);
  OnReload on_reload = OnReload::kApply;
  // An empty value (`listen:` with nothing after it) unsets the setting; otherwise it is an
  // error like any other wrong value.
  bool empty_unsets = false;

  std::string_view Section() const { return key.substr(0, key.find('.')); }
  std::string_view Name() const { return key.substr(key.find('.') + 1); }
  // The docs' "type" column: "duration, 1ms–1h", "bool", "bytes, 4096–67108864", ...
  std::string TypeText() const;
};

// Every setting, in the order of docs/configuration.md and of the writer.
std::span<const Setting> Settings();
// The settings of one section ("api"), in table order.
std::vector<const Setting*> SettingsOf(std::string_view section);

}  // namespace vigil
