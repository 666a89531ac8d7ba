#include "config/settings.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <variant>

#include "base/did_you_mean.h"
#include "base/duration.h"
#include "base/value_text.h"
#include "config/yaml_reader.h"

namespace vigil {

namespace {

// What a setting's text parses to, before it is stored in its field.
using Parsed = std::variant<std::monostate, bool, std::int64_t, double, Duration, std::string,
                            Endpoint, std::vector<std::uint32_t>, std::vector<Endpoint>>;

Parsed ParseAddress(YamlReader& r, const YAML::Node& n, const Setting& s, const std::string& key) {
  auto ep = r.EndpointValue(n, key);
  if (!ep) return {};
  if (s.type == SettingType::kIpAddress && ep->kind == Endpoint::HostKind::kName) {
    r.Error(n, key,
            fmt::format("expected an IP address to {}, found host name '{}'",
                        s.Section() == "node" ? "bind to" : "listen on", ep->host));
    return {};
  }
  return *ep;
}

Parsed ParseAddressList(YamlReader& r, const YAML::Node& n, const std::string& key) {
  if (!n.IsSequence() || n.size() == 0) {
    r.Error(n, key, "expected a list of addresses such as [\"10.0.0.1:7946\", "
                    "\"seed-1.example.com\"], found " +
                        (n.IsSequence() ? std::string("an empty list") : Describe(n)));
    return {};
  }
  std::vector<Endpoint> list;
  bool ok = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string item = fmt::format("{}[{}]", key, i);
    auto ep = r.EndpointValue(n[i], item);
    if (ep) list.push_back(*ep);
    ok = ok && ep.has_value();
  }
  if (!ok) return {};
  return list;
}

Parsed ParseLogLevel(YamlReader& r, const YAML::Node& n, const std::string& key) {
  auto level = r.String(n, key);
  if (!level) return {};
  if (std::find(kLogLevels.begin(), kLogLevels.end(), *level) != kLogLevels.end()) {
    return *level;
  }
  const auto hint = DidYouMean(*level, kLogLevels);
  r.Error(n, key,
          fmt::format("expected one of {}, found '{}'{}", fmt::join(kLogLevels, ", "), *level,
                      hint ? fmt::format("; did you mean '{}'?", *hint) : ""));
  return {};
}

Parsed ParseFileMode(YamlReader& r, const YAML::Node& n, const std::string& key) {
  auto mode = r.String(n, key);
  if (!mode) return {};
  const bool octal = !mode->empty() && mode->size() <= 4 &&
                     mode->find_first_not_of("01234567") == std::string::npos;
  if (!octal) {
    r.Error(n, key, fmt::format("expected an octal file mode such as \"0660\", found '{}'", *mode));
    return {};
  }
  return static_cast<std::int64_t>(std::stoul(*mode, nullptr, 8) & 0777);
}

Parsed ParseIds(YamlReader& r, const YAML::Node& n, const Setting& s, const std::string& key) {
  if (!n.IsSequence()) {
    r.Error(n, key, "expected a list of numeric ids, found " + Describe(n));
    return {};
  }
  std::vector<std::uint32_t> ids;
  bool ok = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const auto id = r.Integer(n[i], fmt::format("{}[{}]", key, i), static_cast<std::int64_t>(s.low),
                              static_cast<std::int64_t>(s.high));
    if (id) ids.push_back(static_cast<std::uint32_t>(*id));
    ok = ok && id.has_value();
  }
  if (!ok) return {};
  return ids;
}

Parsed ParseSocketPath(YamlReader& r, const YAML::Node& n, const std::string& key) {
  auto path = r.AbsolutePath(n, key);
  if (!path) return {};
  if (path->size() >= 108) {
    r.Error(
        n, key,
        fmt::format("a Unix socket path must be shorter than 108 bytes, found {}", path->size()));
    return {};
  }
  return *path;
}

Parsed ParseIdPattern(YamlReader& r, const YAML::Node& n, const std::string& key) {
  auto pattern = r.String(n, key);
  if (!pattern) return {};
  const bool ok = !pattern->empty() && pattern->size() <= 256 &&
                  pattern->find_first_not_of(std::string(kIdCharacters) + "*?[]!") ==
                      std::string::npos;
  if (!ok) {
    r.Error(n, key,
            fmt::format("expected a pattern of id characters and * ? [ ] !, such as "
                        "\"user-*\", found '{}'",
                        *pattern));
    return {};
  }
  return *pattern;
}

// The value of `n` for setting `s`, or monostate after reporting why not.
Parsed Parse(YamlReader& r, const YAML::Node& n, const Setting& s) {
  const std::string key(s.key);
  const auto wrap = [](auto v) -> Parsed { return v ? Parsed(*v) : Parsed(); };
  switch (s.type) {
    case SettingType::kId: {
      auto id = r.String(n, key);
      return id && r.ValidId(n, key, *id) ? Parsed(*id) : Parsed();
    }
    case SettingType::kIpAddress:
    case SettingType::kAddress:
      return ParseAddress(r, n, s, key);
    case SettingType::kDuration: {
      if (!n.IsScalar()) return wrap(r.DurationValue(n, key, false));  // reports the type
      // A range from 0 admits 0 (off); otherwise a duration is positive.
      const bool allow_zero = s.low == 0 && s.high > 0;
      auto d = ParseDurationIn(n.Scalar(), allow_zero, DurationFromSeconds(s.low),
                               DurationFromSeconds(s.high));
      if (d) return *d;
      r.Error(n, key, d.message());
      return {};
    }
    case SettingType::kNumber:
      return wrap(r.Number(n, key, s.low, s.high, true));
    case SettingType::kWhole:
      return wrap(
          r.Integer(n, key, static_cast<std::int64_t>(s.low), static_cast<std::int64_t>(s.high)));
    case SettingType::kMebibytes: {
      auto mib =
          r.Integer(n, key, static_cast<std::int64_t>(s.low), static_cast<std::int64_t>(s.high));
      return mib ? Parsed(*mib << 20) : Parsed();
    }
    case SettingType::kBool:
      return wrap(r.Bool(n, key));
    case SettingType::kAbsolutePath:
      return wrap(r.AbsolutePath(n, key));
    case SettingType::kSocketPath:
      return ParseSocketPath(r, n, key);
    case SettingType::kFileMode:
      return ParseFileMode(r, n, key);
    case SettingType::kLogLevel:
      return ParseLogLevel(r, n, key);
    case SettingType::kNumericIds:
      return ParseIds(r, n, s, key);
    case SettingType::kIdPattern:
      return ParseIdPattern(r, n, key);
    case SettingType::kAddressList:
      return ParseAddressList(r, n, key);
  }
  return {};
}

// Stores a parsed value in a field of type T (the table pairs types and fields).
template <typename T>
void Store(T& field, Parsed&& value) {
  using V = OptionalValueT<T>;
  if constexpr (std::is_same_v<V, bool>) {
    field = std::get<bool>(value);
  } else if constexpr (std::is_integral_v<V>) {
    field = static_cast<V>(std::get<std::int64_t>(value));
  } else if constexpr (std::is_same_v<V, std::vector<std::uint32_t>> ||
                       std::is_same_v<V, std::vector<Endpoint>>) {
    field = std::move(std::get<V>(value));
  } else {
    field = std::move(std::get<V>(value));
  }
}

template <typename V>
YAML::Node Scalar(const V& v, const Setting& s) {
  if constexpr (std::is_same_v<V, bool>) {
    return YAML::Node(v ? "true" : "false");
  } else if constexpr (std::is_same_v<V, Duration>) {
    return YAML::Node(FormatDuration(v));
  } else if constexpr (std::is_same_v<V, Endpoint>) {
    return YAML::Node(v.ToString());
  } else if constexpr (std::is_same_v<V, std::string>) {
    return v.empty() ? YAML::Node() : YAML::Node(v);
  } else if constexpr (std::is_same_v<V, std::vector<std::uint32_t>>) {
    YAML::Node list(YAML::NodeType::Sequence);
    for (const auto id : v) list.push_back(fmt::format("{}", id));
    return list;
  } else if constexpr (std::is_same_v<V, std::vector<Endpoint>>) {
    if (v.empty()) return YAML::Node();
    YAML::Node list(YAML::NodeType::Sequence);
    for (const Endpoint& e : v) list.push_back(e.ToString());
    return list;
  } else if constexpr (std::is_integral_v<V>) {
    if (s.type == SettingType::kFileMode) return YAML::Node(fmt::format("{:04o}", v));
    if (s.type == SettingType::kMebibytes) return YAML::Node(fmt::format("{}", v >> 20));
    return YAML::Node(fmt::format("{}", v));
  } else {
    return YAML::Node(fmt::format("{}", v));
  }
}

template <auto Section, auto Field>
void Read(YamlReader& r, const YAML::Node& n, const Setting& s, Config& c) {
  auto& field = (c.*Section).*Field;
  if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(field)>,
                                OptionalValueT<std::remove_cvref_t<decltype(field)>>>) {
    if (n.IsNull() && s.empty_unsets) {
      field.reset();
      return;
    }
  }
  if (auto value = Parse(r, n, s); !std::holds_alternative<std::monostate>(value)) {
    Store(field, std::move(value));
  }
}

template <auto Section, auto Field>
YAML::Node Write(const Config& c, const Setting& s) {
  const auto& field = (c.*Section).*Field;
  using T = std::remove_cvref_t<decltype(field)>;
  if constexpr (std::is_same_v<T, OptionalValueT<T>>) {
    return Scalar(field, s);
  } else {
    return field ? Scalar(*field, s) : YAML::Node();
  }
}

template <auto Section, auto Field>
bool Same(const Config& a, const Config& b) {
  return (a.*Section).*Field == (b.*Section).*Field;
}

template <auto Section, auto Field>
void Copy(const Config& from, Config& to) {
  (to.*Section).*Field = (from.*Section).*Field;
}

template <auto Section, auto Field>
constexpr Setting Entry(std::string_view key, SettingType type, double low = 0, double high = 0,
                        std::string_view unit = {}, std::string_view rule = {}) {
  return {key,
          type,
          low,
          high,
          unit,
          rule,
          &Read<Section, Field>,
          &Write<Section, Field>,
          &Same<Section, Field>,
          &Copy<Section, Field>};
}

constexpr Setting On(OnReload effect, Setting s) {
  s.on_reload = effect;
  return s;
}

constexpr Setting EmptyUnsets(Setting s) {
  s.empty_unsets = true;
  return s;
}

using C = Config;
using T = SettingType;

const Setting kSettings[] = {
    On(OnReload::kRefuse,
       Entry<&C::node, &NodeConfig::id>("node.id", T::kId, 0, 0, {}, "**required**")),
    On(OnReload::kRestart, Entry<&C::node, &NodeConfig::bind>("node.bind", T::kIpAddress)),
    Entry<&C::node, &NodeConfig::advertise>("node.advertise", T::kAddress),
    Entry<&C::node, &NodeConfig::receive_coalesce>("node.receive_coalesce", T::kDuration, 0,
                                                   0.002),
    Entry<&C::heartbeat, &HeartbeatConfig::interval>("heartbeat.interval", T::kDuration, 0.001,
                                                     3600),
    Entry<&C::heartbeat, &HeartbeatConfig::jitter>("heartbeat.jitter", T::kNumber, 0, 0.5),
    Entry<&C::recording, &RecordingConfig::enabled>("recording.enabled", T::kBool),
    Entry<&C::recording, &RecordingConfig::max_file_bytes>("recording.max_file_mib", T::kMebibytes,
                                                           1, 4096),
    Entry<&C::recording, &RecordingConfig::max_files>("recording.max_files", T::kWhole, 1, 1000),
    On(OnReload::kRestart, Entry<&C::api, &ApiConfig::socket>("api.socket", T::kSocketPath)),
    On(OnReload::kRestart, Entry<&C::api, &ApiConfig::mode>("api.mode", T::kFileMode)),
    Entry<&C::api, &ApiConfig::max_connections>("api.max_connections", T::kWhole, 1, 10000),
    Entry<&C::api, &ApiConfig::idle_timeout>("api.idle_timeout", T::kDuration),
    Entry<&C::api, &ApiConfig::sse_buffer_bytes>("api.sse_buffer", T::kWhole, 4096, 64 << 20,
                                                 "bytes"),
    Entry<&C::api, &ApiConfig::allow_uids>("api.allow_uids", T::kNumericIds, 0, 4294967294.0),
    Entry<&C::api, &ApiConfig::allow_gids>("api.allow_gids", T::kNumericIds, 0, 4294967294.0),
    On(OnReload::kRestart,
       EmptyUnsets(Entry<&C::metrics, &MetricsConfig::listen>("metrics.listen", T::kIpAddress))),
    Entry<&C::metrics, &MetricsConfig::peer_series_limit>("metrics.peer_series_limit", T::kWhole,
                                                          0, 1000000),
    Entry<&C::log, &LogConfig::level>("log.level", T::kLogLevel),
    On(OnReload::kRestart,
       Entry<&C::state, &StateConfig::directory>("state.directory", T::kAbsolutePath)),
    Entry<&C::events, &EventsConfig::ring_size>("events.ring_size", T::kWhole, 16, 1000000),
    Entry<&C::security, &SecurityConfig::keyring>("security.keyring", T::kAbsolutePath),
    Entry<&C::security, &SecurityConfig::require_auth>("security.require_auth", T::kBool, 0, 0, {},
                                                       "`true` with a keyring, else `false`"),
    Entry<&C::security, &SecurityConfig::require_echo>("security.require_echo", T::kBool, 0, 0, {},
                                                       "the value of `security.require_auth`"),
    Entry<&C::security, &SecurityConfig::check_source_address>("security.check_source_address",
                                                               T::kBool),
    Entry<&C::enrollment, &EnrollmentConfig::enabled>("enrollment.enabled", T::kBool),
    Entry<&C::enrollment, &EnrollmentConfig::id_pattern>("enrollment.id_pattern", T::kIdPattern),
    Entry<&C::enrollment, &EnrollmentConfig::max_peers>("enrollment.max_peers", T::kWhole, 1,
                                                        10000000),
    Entry<&C::enrollment, &EnrollmentConfig::retention>("enrollment.retention", T::kDuration, 1,
                                                        31536000),
    On(OnReload::kRestart, Entry<&C::cluster, &ClusterConfig::seeds>(
                               "cluster.seeds", T::kAddressList, 0, 0, {},
                               "unset: not a cluster member")),
};

std::string Range(double low, double high) { return fmt::format("{}–{}", low, high); }

}  // namespace

std::string Setting::TypeText() const {
  switch (type) {
    case T::kId:
      return "id";
    case T::kIpAddress:
      return "IP address[:port]";
    case T::kAddress:
      return "address";
    case T::kDuration:
      return high > 0 ? fmt::format("duration, {}–{}", FormatDuration(DurationFromSeconds(low)),
                                    FormatDuration(DurationFromSeconds(high)))
                      : "duration";
    case T::kNumber:
      return "number " + Range(low, high);
    case T::kWhole:
      return unit.empty() ? Range(low, high) : fmt::format("{}, {}", unit, Range(low, high));
    case T::kMebibytes:
      return "MiB, " + Range(low, high);
    case T::kBool:
      return "bool";
    case T::kAbsolutePath:
      return "absolute path";
    case T::kSocketPath:
      return "absolute path, < 108 bytes";
    case T::kFileMode:
      return "octal string";
    case T::kLogLevel:
      return fmt::format("`{}` … `{}`", kLogLevels.front(), kLogLevels.back());
    case T::kNumericIds:
      return "list of numeric ids";
    case T::kIdPattern:
      return "id pattern";
    case T::kAddressList:
      return "list of address[:port]";
  }
  return "";
}

std::span<const Setting> Settings() { return kSettings; }

std::vector<const Setting*> SettingsOf(std::string_view section) {
  std::vector<const Setting*> found;
  for (const auto& s : kSettings) {
    if (s.Section() == section) found.push_back(&s);
  }
  return found;
}

}  // namespace vigil
