// YAML -> Config. Every check reports into one list so the user sees all problems at once.
// yaml-cpp throws; those exceptions are caught here, at the edge, and become ConfigErrors.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/config.h"
#include "config/did_you_mean.h"
#include "config/duration.h"

namespace vigil {

std::string ConfigError::ToString() const {
  if (line == 0) return fmt::format("{}: {}{}", file, key.empty() ? "" : key + ": ", message);
  return fmt::format("{}:{}:{}: {}{}", file, line, column, key.empty() ? "" : key + ": ",
                     message);
}

namespace {

using Keys = std::initializer_list<std::string_view>;


// Detector keys and the kinds they apply to (a list separated by ", "; "" = every kind).
struct DetectorKey {
  std::string_view name;
  std::string_view only_for;
};
constexpr std::array<DetectorKey, 14> kDetectorKeys = {{
    {"kind", ""},
    {"threshold", ""},
    {"suspect_threshold", ""},
    {"max_sample_size", "phi, phi-exponential"},
    {"min_std_deviation", "phi"},
    {"acceptable_heartbeat_pause", "phi"},
    {"first_heartbeat_estimate", "phi"},
    {"timeout", "timeout"},
    {"suspect_after", "timeout"},
    {"max_interval", "phi-exponential"},
    {"memory", "adaptive"},
    {"margin", "adaptive"},
    {"target_mistakes_per_hour", "adaptive"},
    {"rise", ""},
}};

// Whether `kind` is one of the kinds in `list` ("phi, phi-exponential").
bool AppliesTo(std::string_view list, std::string_view kind) {
  while (!list.empty()) {
    const auto comma = list.find(", ");
    if (list.substr(0, comma) == kind) return true;
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 2);
  }
  return false;
}

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

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  std::vector<ConfigError>& errors() { return errors_; }

  void Error(const YAML::Mark& mark, std::string key, std::string message) {
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
  void Error(const YAML::Node& at, std::string key, std::string message) {
    Error(at.Mark(), std::move(key), std::move(message));
  }

  static std::string Join(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
  }

  // Requires `n` to be a mapping whose keys are all in `allowed`; reports unknown and
  // duplicate keys. Returns false if it is not a mapping at all.
  bool CheckMap(const YAML::Node& n, std::string_view path, Keys allowed) {
    if (n.IsNull()) return false;  // a section left empty (all commented out): nothing set
    if (!n.IsMap()) {
      Error(n, std::string(path), "expected a mapping, found " + Describe(n));
      return false;
    }
    std::vector<std::string_view> candidates(allowed);
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
      if (std::find(candidates.begin(), candidates.end(), key) == candidates.end()) {
        auto hint = DidYouMean(key, candidates);
        Error(kv.first, Join(path, key),
              hint ? fmt::format("unknown key; did you mean '{}'?", *hint)
                   : fmt::format("unknown key; expected one of: {}",
                                 fmt::join(candidates, ", ")));
      }
    }
    return true;
  }

  std::optional<std::string> String(const YAML::Node& n, const std::string& path) {
    if (!n.IsScalar()) {
      Error(n, path, "expected a string, found " + Describe(n));
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<Duration> DurationValue(const YAML::Node& n, const std::string& path,
                                        bool allow_zero) {
    if (!n.IsScalar()) {
      Error(n, path, "expected a duration such as 250ms, 1.5s or 2m, found " + Describe(n));
      return std::nullopt;
    }
    const auto d = ParseDuration(n.Scalar());
    if (!d) {
      const bool bare_number = n.Scalar().find_first_not_of("0123456789.") == std::string::npos;
      Error(n, path,
            fmt::format("expected a duration such as 250ms, 1.5s or 2m, found '{}'{}",
                        n.Scalar(), bare_number ? " (a duration needs a unit)" : ""));
      return std::nullopt;
    }
    if (*d < Duration::zero() || (!allow_zero && *d == Duration::zero())) {
      Error(n, path, fmt::format("expected a positive duration, found '{}'", n.Scalar()));
      return std::nullopt;
    }
    return d;
  }

  std::optional<double> Number(const YAML::Node& n, const std::string& path, double lo,
                               double hi, bool lo_inclusive) {
    double v = 0;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || std::isnan(v)) {
      Error(n, path, "expected a number, found " + Describe(n));
      return std::nullopt;
    }
    if ((lo_inclusive ? v < lo : v <= lo) || v > hi) {
      Error(n, path,
            fmt::format("expected a number {} {} and <= {}, found {}", lo_inclusive ? ">=" : ">",
                        lo, hi, n.Scalar()));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> Bool(const YAML::Node& n, const std::string& path) {
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      Error(n, path, "expected true or false, found " + Describe(n));
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::int64_t> Integer(const YAML::Node& n, const std::string& path,
                                      std::int64_t lo, std::int64_t hi) {
    std::int64_t v = 0;
    if (!n.IsScalar() || !YAML::convert<std::int64_t>::decode(n, v)) {
      Error(n, path, "expected a whole number, found " + Describe(n));
      return std::nullopt;
    }
    if (v < lo || v > hi) {
      Error(n, path, fmt::format("expected a whole number from {} to {}, found {}", lo, hi, v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<Endpoint> EndpointValue(const YAML::Node& n, const std::string& path) {
    const auto s = String(n, path);
    if (!s) return std::nullopt;
    std::string why;
    auto ep = ParseEndpoint(*s, &why);
    if (!ep) Error(n, path, "expected an address such as 10.0.0.2:7946 or [::1]:7946: " + why);
    return ep;
  }

  bool ValidId(const YAML::Node& n, const std::string& path, const std::string& id) {
    const bool ok = !id.empty() && id.size() <= 64 &&
                    id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789._-") == std::string::npos;
    if (!ok) {
      Error(n, path,
            fmt::format("expected 1-64 characters of letters, digits, '.', '_' or '-', "
                        "found '{}'",
                        id));
    }
    return ok;
  }

  // Applies the keys present in `n` onto `into`. `set` collects which keys were given.
  void Detector(const YAML::Node& n, const std::string& path, DetectorOptions& into,
                std::map<std::string, YAML::Mark>& set) {
    std::vector<std::string_view> names;
    for (const auto& k : kDetectorKeys) names.push_back(k.name);
    if (!n.IsMap()) {
      Error(n, path, "expected a mapping, found " + Describe(n));
      return;
    }
    // CheckMap wants an initializer_list; do the same checks with the array.
    std::set<std::string> seen;
    for (const auto& kv : n) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      const std::string kpath = Join(path, key);
      if (!seen.insert(key).second) {
        Error(kv.first, kpath, "duplicate key (the earlier value would be lost)");
      }
      if (std::find(names.begin(), names.end(), key) == names.end()) {
        auto hint = DidYouMean(key, names);
        Error(kv.first, kpath,
              hint ? fmt::format("unknown key; did you mean '{}'?", *hint)
                   : fmt::format("unknown key; expected one of: {}", fmt::join(names, ", ")));
        continue;
      }
      set[key] = kv.first.Mark();
      const YAML::Node& v = kv.second;
      if (key == "kind") {
        if (auto s = String(v, kpath)) {
          if (auto kind = ParseDetectorKind(*s)) {
            into.kind = *kind;
          } else {
            Error(v, kpath,
                  fmt::format("expected one of adaptive, phi, phi-exponential, timeout, found '{}'",
                              *s));
          }
        }
      } else if (key == "threshold") {
        if (auto x = Number(v, kpath, 0, 1000, false)) into.threshold = *x;
      } else if (key == "suspect_threshold") {
        if (auto x = Number(v, kpath, 0, 1000, false)) into.suspect_threshold = *x;
      } else if (key == "max_sample_size") {
        if (auto x = Integer(v, kpath, 2, 100000)) into.max_sample_size = static_cast<std::size_t>(*x);
      } else if (key == "min_std_deviation") {
        if (auto d = DurationValue(v, kpath, false)) into.min_std_deviation = *d;
      } else if (key == "acceptable_heartbeat_pause") {
        if (auto d = DurationValue(v, kpath, true)) into.acceptable_heartbeat_pause = *d;
      } else if (key == "first_heartbeat_estimate") {
        if (auto d = DurationValue(v, kpath, false)) into.first_heartbeat_estimate = *d;
      } else if (key == "timeout") {
        if (auto d = DurationValue(v, kpath, false)) into.timeout = *d;
      } else if (key == "suspect_after") {
        if (auto d = DurationValue(v, kpath, false)) into.suspect_after = *d;
      } else if (key == "max_interval") {
        if (auto d = DurationValue(v, kpath, false)) into.max_interval = *d;
      } else if (key == "memory") {
        if (auto d = DurationValue(v, kpath, false)) {
          if (*d < std::chrono::seconds(1) || *d > std::chrono::hours(24)) {
            Error(v, kpath, fmt::format("expected a duration from 1s to 24h, found {}",
                                        FormatDuration(*d)));
          } else {
            into.memory = *d;
          }
        }
      } else if (key == "margin") {
        if (auto x = Number(v, kpath, 1, 100, true)) into.margin = *x;
      } else if (key == "target_mistakes_per_hour") {
        if (auto x = Number(v, kpath, 0, 60, false)) into.target_mistakes_per_hour = *x;
      } else if (key == "rise") {
        if (auto x = Integer(v, kpath, 1, 100)) into.rise = static_cast<std::uint32_t>(*x);
      }
    }
  }

  // Cross-key checks on a merged detector configuration.
  void CheckDetector(const DetectorOptions& d, const std::string& path,
                     const std::map<std::string, YAML::Mark>& set, const YAML::Mark& where) {
    const std::string_view kind = DetectorKindName(d.kind);
    for (const auto& [key, mark] : set) {
      for (const auto& k : kDetectorKeys) {
        if (k.name == key && !k.only_for.empty() && !AppliesTo(k.only_for, kind)) {
          Error(mark, Join(path, key),
                fmt::format("only applies to kind {}, but kind is {}", k.only_for, kind));
        }
      }
    }
    if (d.kind == DetectorKind::kTimeout && set.count("threshold")) {
      Error(set.at("threshold"), Join(path, "threshold"),
            "kind timeout has no threshold; set 'timeout' (and optionally 'suspect_after')");
    }
    if (d.kind == DetectorKind::kTimeout && set.count("suspect_threshold")) {
      Error(set.at("suspect_threshold"), Join(path, "suspect_threshold"),
            "kind timeout uses 'suspect_after', a duration");
    }
    if (d.kind == DetectorKind::kAdaptive && set.count("threshold")) {
      Error(set.at("threshold"), Join(path, "threshold"),
            "kind adaptive has a fixed threshold of 1 (silence / allowed silence); tune "
            "'margin', 'memory' or 'target_mistakes_per_hour' instead");
    }
    if (d.kind == DetectorKind::kAdaptive && d.suspect_threshold &&
        *d.suspect_threshold >= 1.0) {
      const auto& mark = set.count("suspect_threshold") ? set.at("suspect_threshold") : where;
      Error(mark, Join(path, "suspect_threshold"),
            fmt::format("for kind adaptive, a fraction of the allowed silence below 1, found {}",
                        *d.suspect_threshold));
    }
    if (d.suspect_threshold && d.kind != DetectorKind::kTimeout &&
        d.kind != DetectorKind::kAdaptive && *d.suspect_threshold >= d.threshold) {
      const auto& mark = set.count("suspect_threshold") ? set.at("suspect_threshold") : where;
      Error(mark, Join(path, "suspect_threshold"),
            fmt::format("must be below threshold ({}), found {}", d.threshold,
                        *d.suspect_threshold));
    }
    if (d.kind == DetectorKind::kTimeout && d.suspect_after && *d.suspect_after >= d.timeout) {
      const auto& mark = set.count("suspect_after") ? set.at("suspect_after") : where;
      Error(mark, Join(path, "suspect_after"),
            fmt::format("must be shorter than timeout ({}), found {}", FormatDuration(d.timeout),
                        FormatDuration(*d.suspect_after)));
    }
  }

  void Load(const YAML::Node& root, Config& c) {
    if (root.IsNull()) {
      YAML::Mark start;  // line 0, column 0: report at 1:1
      start.line = 0;
      start.column = 0;
      Error(start, "", "the file is empty; at least node.id is required");
      return;
    }
    if (!CheckMap(root, "", {"node", "heartbeat", "detector", "peers", "api", "metrics", "log",
                             "state", "events", "security", "recording"})) {
      return;
    }

    // node
    if (const auto node = root["node"]; node && node.IsNull()) {
      Error(node, "node.id", "required key is missing");
    } else if (node) {
      if (CheckMap(node, "node", {"id", "bind", "advertise"})) {
        if (node["id"]) {
          if (auto s = String(node["id"], "node.id"); s && ValidId(node["id"], "node.id", *s)) {
            c.node_id = *s;
          }
        } else {
          Error(node, "node.id", "required key is missing");
        }
        if (node["bind"]) {
          if (auto ep = EndpointValue(node["bind"], "node.bind")) {
            if (ep->kind == Endpoint::HostKind::kName) {
              Error(node["bind"], "node.bind",
                    fmt::format("expected an IP address to bind to, found host name '{}'",
                                ep->host));
            } else {
              c.bind = *ep;
            }
          }
        }
        if (node["advertise"]) c.advertise = EndpointValue(node["advertise"], "node.advertise");
      }
    } else {
      Error(root, "node", "required section is missing (it must set node.id)");
    }

    // heartbeat
    if (const auto hb = root["heartbeat"]) {
      if (CheckMap(hb, "heartbeat", {"interval", "jitter"})) {
        if (hb["interval"]) {
          if (auto d = DurationValue(hb["interval"], "heartbeat.interval", false)) {
            if (*d < std::chrono::milliseconds(1) || *d > std::chrono::hours(1)) {
              Error(hb["interval"], "heartbeat.interval",
                    fmt::format("expected from 1ms to 1h, found {}", FormatDuration(*d)));
            } else {
              c.heartbeat_interval = *d;
            }
          }
        }
        if (hb["jitter"]) {
          if (auto x = Number(hb["jitter"], "heartbeat.jitter", 0, 0.5, true)) {
            c.heartbeat_jitter = *x;
          }
        }
      }
    }

    // detector defaults
    std::map<std::string, YAML::Mark> default_set;
    YAML::Mark detector_mark = root.Mark();
    if (const auto det = root["detector"]) {
      detector_mark = det.Mark();
      Detector(det, "detector", c.detector, default_set);
    }
    CheckDetector(c.detector, "detector", default_set, detector_mark);

    // recording (before peers: it is their default)
    if (const auto rec = root["recording"]) {
      if (CheckMap(rec, "recording", {"enabled", "max_file_mib", "max_files"})) {
        if (rec["enabled"]) {
          if (auto b = Bool(rec["enabled"], "recording.enabled")) c.recording.enabled = *b;
        }
        if (rec["max_file_mib"]) {
          if (auto x = Integer(rec["max_file_mib"], "recording.max_file_mib", 1, 4096)) {
            c.recording.max_file_bytes = static_cast<std::uint64_t>(*x) << 20;
          }
        }
        if (rec["max_files"]) {
          if (auto x = Integer(rec["max_files"], "recording.max_files", 1, 1000)) {
            c.recording.max_files = static_cast<std::uint32_t>(*x);
          }
        }
      }
    }

    // peers
    if (const auto peers = root["peers"]) {
      if (!peers.IsSequence()) {
        if (!peers.IsNull()) Error(peers, "peers", "expected a list of peers, found " + Describe(peers));
      } else {
        std::map<std::string, std::string> ids;        // id -> path of first use
        std::map<std::string, std::string> addresses;  // address -> path of first use
        for (std::size_t i = 0; i < peers.size(); ++i) {
          const YAML::Node p = peers[i];
          const std::string path = fmt::format("peers[{}]", i);
          if (!CheckMap(p, path, {"id", "address", "detector", "record"})) continue;
          PeerConfig pc;
          bool ok = true;
          if (!p["id"]) {
            Error(p, path + ".id", "required key is missing");
            ok = false;
          } else if (auto s = String(p["id"], path + ".id");
                     s && ValidId(p["id"], path + ".id", *s)) {
            pc.id = *s;
            if (auto [it, fresh] = ids.emplace(pc.id, path); !fresh) {
              Error(p["id"], path + ".id",
                    fmt::format("duplicate peer id '{}' (also {})", pc.id, it->second));
              ok = false;
            }
            if (!c.node_id.empty() && pc.id == c.node_id) {
              Error(p["id"], path + ".id",
                    fmt::format("'{}' is this node's own id (node.id); a node does not list "
                                "itself as a peer",
                                pc.id));
              ok = false;
            }
          } else {
            ok = false;
          }
          if (!p["address"]) {
            Error(p, path + ".address", "required key is missing");
            ok = false;
          } else if (auto ep = EndpointValue(p["address"], path + ".address")) {
            pc.address = *ep;
            const std::string key = ep->ToString();
            if (auto [it, fresh] = addresses.emplace(key, path); !fresh) {
              Error(p["address"], path + ".address",
                    fmt::format("duplicate peer address {} (also {})", key, it->second));
              ok = false;
            }
            const Endpoint& self = c.advertise ? *c.advertise : c.bind;
            if (*ep == self) {
              Error(p["address"], path + ".address",
                    fmt::format("{} is this node's own address", key));
              ok = false;
            }
          } else {
            ok = false;
          }
          pc.record = c.recording.enabled;
          if (p["record"]) {
            if (auto b = Bool(p["record"], path + ".record")) pc.record = *b;
          }
          pc.detector = c.detector;
          if (const auto det = p["detector"]) {
            std::map<std::string, YAML::Mark> own;
            const std::size_t before = errors_.size();
            Detector(det, path + ".detector", pc.detector, own);
            // Only report problems of keys this peer set itself; the defaults were checked.
            if (errors_.size() == before) CheckDetector(pc.detector, path + ".detector", own, det.Mark());
          }
          if (ok) c.peers.push_back(std::move(pc));
        }
      }
    }

    // api
    if (const auto api = root["api"]) {
      if (CheckMap(api, "api",
                   {"socket", "mode", "max_connections", "idle_timeout", "sse_buffer",
                    "allow_uids", "allow_gids"})) {
        for (const char* key : {"allow_uids", "allow_gids"}) {
          const auto list = api[key];
          if (!list) continue;
          const std::string path = std::string("api.") + key;
          if (!list.IsSequence()) {
            Error(list, path, "expected a list of numeric ids, found " + Describe(list));
            continue;
          }
          auto& into = std::string(key) == "allow_uids" ? c.api_allow_uids : c.api_allow_gids;
          for (std::size_t i = 0; i < list.size(); ++i) {
            if (auto x = Integer(list[i], fmt::format("{}[{}]", path, i), 0, 4294967294LL)) {
              into.push_back(static_cast<std::uint32_t>(*x));
            }
          }
        }
        if (api["socket"]) {
          if (auto s = String(api["socket"], "api.socket")) {
            if (s->empty() || s->front() != '/') {
              Error(api["socket"], "api.socket",
                    fmt::format("expected an absolute path, found '{}'", *s));
            } else if (s->size() >= 108) {
              Error(api["socket"], "api.socket",
                    fmt::format("a Unix socket path must be shorter than 108 bytes, found {}",
                                s->size()));
            } else {
              c.api_socket = *s;
            }
          }
        }
        if (api["mode"]) {
          if (auto s = String(api["mode"], "api.mode")) {
            const bool octal = !s->empty() && s->size() <= 4 &&
                               s->find_first_not_of("01234567") == std::string::npos;
            if (!octal) {
              Error(api["mode"], "api.mode",
                    fmt::format("expected an octal file mode such as \"0660\", found '{}'", *s));
            } else {
              c.api_socket_mode = static_cast<std::uint32_t>(std::stoul(*s, nullptr, 8)) & 0777;
            }
          }
        }
        if (api["max_connections"]) {
          if (auto x = Integer(api["max_connections"], "api.max_connections", 1, 10000)) {
            c.api_max_connections = static_cast<std::size_t>(*x);
          }
        }
        if (api["idle_timeout"]) {
          if (auto d = DurationValue(api["idle_timeout"], "api.idle_timeout", false)) {
            c.api_idle_timeout = *d;
          }
        }
        if (api["sse_buffer"]) {
          if (auto x = Integer(api["sse_buffer"], "api.sse_buffer", 4096, 64 << 20)) {
            c.api_sse_buffer_bytes = static_cast<std::size_t>(*x);
          }
        }
      }
    }

    // metrics
    if (const auto m = root["metrics"]) {
      if (CheckMap(m, "metrics", {"listen"}) && m["listen"] && !m["listen"].IsNull()) {
        if (auto ep = EndpointValue(m["listen"], "metrics.listen")) {
          if (ep->kind == Endpoint::HostKind::kName) {
            Error(m["listen"], "metrics.listen", "expected an IP address, found a host name");
          } else {
            c.metrics_listen = ep;
          }
        }
      }
    }

    // log
    if (const auto l = root["log"]) {
      if (CheckMap(l, "log", {"level"}) && l["level"]) {
        if (auto s = String(l["level"], "log.level")) {
          if (std::find(kLogLevels.begin(), kLogLevels.end(), *s) == kLogLevels.end()) {
            auto hint = DidYouMean(*s, kLogLevels);
            Error(l["level"], "log.level",
                  fmt::format("expected one of {}, found '{}'{}", fmt::join(kLogLevels, ", "), *s,
                              hint ? fmt::format("; did you mean '{}'?", *hint) : ""));
          } else {
            c.log_level = *s;
          }
        }
      }
    }

    // state
    if (const auto s = root["state"]) {
      if (CheckMap(s, "state", {"directory"}) && s["directory"]) {
        if (auto d = String(s["directory"], "state.directory")) {
          if (d->empty() || d->front() != '/') {
            Error(s["directory"], "state.directory",
                  fmt::format("expected an absolute path, found '{}'", *d));
          } else {
            c.state_directory = *d;
          }
        }
      }
    }

    // security
    if (const auto sec = root["security"]) LoadSecurity(sec, c);

    // events
    if (const auto e = root["events"]) {
      if (CheckMap(e, "events", {"ring_size"}) && e["ring_size"]) {
        if (auto x = Integer(e["ring_size"], "events.ring_size", 16, 1000000)) {
          c.event_ring_size = static_cast<std::size_t>(*x);
        }
      }
    }
  }

  void LoadSecurity(const YAML::Node& sec, Config& c) {
    if (sec["max_rejects_per_second"]) {
      Error(sec["max_rejects_per_second"], "security.max_rejects_per_second",
            "was removed in vigil 0.2: invalid datagrams are no longer limited per address "
            "(a flood from a peer's own address made its real heartbeats count as rejects); "
            "delete this line");
    }
    if (!CheckMap(sec, "security",
                  {"keyring", "require_auth", "require_echo", "check_source_address",
                   "max_rejects_per_second"})) {
      return;
    }
    if (sec["check_source_address"]) {
      if (auto b = Bool(sec["check_source_address"], "security.check_source_address")) {
        c.check_source_address = *b;
      }
    }
    if (sec["keyring"]) {
      if (auto k = String(sec["keyring"], "security.keyring")) {
        if (k->empty() || k->front() != '/') {
          Error(sec["keyring"], "security.keyring",
                fmt::format("expected an absolute path, found '{}'", *k));
        } else {
          c.keyring = *k;
          c.require_auth = true;  // the default once there is a keyring
        }
      }
    }
    if (sec["require_auth"]) {
      if (const auto b = Bool(sec["require_auth"], "security.require_auth")) {
        if (*b && !c.keyring && !sec["keyring"]) {
          Error(sec["require_auth"], "security.require_auth",
                "requires security.keyring: there is no key to check datagrams with");
        } else {
          c.require_auth = *b;
        }
      }
    }
    // Freshness is only worth proving for datagrams nobody else can make.
    c.require_echo = c.require_auth;
    if (sec["require_echo"]) {
      if (const auto b = Bool(sec["require_echo"], "security.require_echo")) {
        if (*b && !c.require_auth) {
          Error(sec["require_echo"], "security.require_echo",
                "requires security.require_auth (and a keyring): an echo in a datagram "
                "anyone can forge proves nothing");
        } else {
          c.require_echo = *b;
        }
      }
    }
  }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

}  // namespace

ConfigResult LoadConfigString(const std::string& yaml, const std::string& name) {
  ConfigResult result;
  Loader loader(name);
  Config config;
  config.source = name;
  try {
    const YAML::Node root = YAML::Load(yaml);
    loader.Load(root, config);
  } catch (const YAML::Exception& e) {
    // Syntax errors, and anything yaml-cpp rejects while walking the tree.
    loader.Error(e.mark, "", "YAML syntax error: " + e.msg);
  }
  result.errors = std::move(loader.errors());
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

ConfigResult LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigResult result;
    result.errors.push_back(
        {path, 0, 0, "", fmt::format("cannot read the file: {}", std::strerror(errno))});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    ConfigResult result;
    result.errors.push_back({path, 0, 0, "", "cannot read the file: read error"});
    return result;
  }
  return LoadConfigString(text.str(), path);
}

}  // namespace vigil
