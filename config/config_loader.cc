// YAML -> Config, one function per section. Every check reports into one list so the user
// sees all problems at once. yaml-cpp throws; those exceptions are caught here, at the edge,
// and become ConfigErrors.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "config/config.h"
#include "config/peer_section.h"
#include "config/yaml_reader.h"
#include "base/did_you_mean.h"
#include "base/duration.h"

namespace vigil {

std::string ConfigError::ToString() const {
  if (line == 0) return fmt::format("{}: {}{}", file, key.empty() ? "" : key + ": ", message);
  return fmt::format("{}:{}:{}: {}{}", file, line, column, key.empty() ? "" : key + ": ",
                     message);
}

namespace {

void LoadNodeSection(YamlReader& r, const YAML::Node& root, Config& c) {
  const auto node = root["node"];
  if (!node) {
    r.Error(root, "node", "required section is missing (it must set node.id)");
    return;
  }
  if (node.IsNull()) {
    r.Error(node, "node.id", "required key is missing");
    return;
  }
  if (!r.CheckMap(node, "node", {"id", "bind", "advertise"})) return;
  if (node["id"]) {
    if (auto s = r.String(node["id"], "node.id"); s && r.ValidId(node["id"], "node.id", *s)) {
      c.node.id = *s;
    }
  } else {
    r.Error(node, "node.id", "required key is missing");
  }
  if (node["bind"]) {
    if (auto ep = r.EndpointValue(node["bind"], "node.bind")) {
      if (ep->kind == Endpoint::HostKind::kName) {
        r.Error(node["bind"], "node.bind",
                fmt::format("expected an IP address to bind to, found host name '{}'", ep->host));
      } else {
        c.node.bind = *ep;
      }
    }
  }
  if (node["advertise"]) c.node.advertise = r.EndpointValue(node["advertise"], "node.advertise");
}

void LoadHeartbeatSection(YamlReader& r, const YAML::Node& hb, Config& c) {
  if (!r.CheckMap(hb, "heartbeat", {"interval", "jitter"})) return;
  if (hb["interval"]) {
    if (auto d = r.DurationValue(hb["interval"], "heartbeat.interval", false)) {
      if (*d < std::chrono::milliseconds(1) || *d > std::chrono::hours(1)) {
        r.Error(hb["interval"], "heartbeat.interval",
                fmt::format("expected from 1ms to 1h, found {}", FormatDuration(*d)));
      } else {
        c.heartbeat.interval = *d;
      }
    }
  }
  if (hb["jitter"]) {
    if (auto x = r.Number(hb["jitter"], "heartbeat.jitter", 0, 0.5, true)) c.heartbeat.jitter = *x;
  }
}

void LoadRecordingSection(YamlReader& r, const YAML::Node& rec, Config& c) {
  if (!r.CheckMap(rec, "recording", {"enabled", "max_file_mib", "max_files"})) return;
  if (rec["enabled"]) {
    if (auto b = r.Bool(rec["enabled"], "recording.enabled")) c.recording.enabled = *b;
  }
  if (rec["max_file_mib"]) {
    if (auto x = r.Integer(rec["max_file_mib"], "recording.max_file_mib", 1, 4096)) {
      c.recording.max_file_bytes = static_cast<std::uint64_t>(*x) << 20;
    }
  }
  if (rec["max_files"]) {
    if (auto x = r.Integer(rec["max_files"], "recording.max_files", 1, 1000)) {
      c.recording.max_files = static_cast<std::uint32_t>(*x);
    }
  }
}

void LoadApiAllowLists(YamlReader& r, const YAML::Node& api, Config& c) {
  for (const char* key : {"allow_uids", "allow_gids"}) {
    const auto list = api[key];
    if (!list) continue;
    const std::string path = std::string("api.") + key;
    if (!list.IsSequence()) {
      r.Error(list, path, "expected a list of numeric ids, found " + Describe(list));
      continue;
    }
    auto& into = std::string(key) == "allow_uids" ? c.api.allow_uids : c.api.allow_gids;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (auto x = r.Integer(list[i], fmt::format("{}[{}]", path, i), 0, 4294967294LL)) {
        into.push_back(static_cast<std::uint32_t>(*x));
      }
    }
  }
}

void LoadApiSection(YamlReader& r, const YAML::Node& api, Config& c) {
  if (!r.CheckMap(api, "api", {"socket", "mode", "max_connections", "idle_timeout",
                               "sse_buffer", "allow_uids", "allow_gids"})) {
    return;
  }
  LoadApiAllowLists(r, api, c);
  if (api["socket"]) {
    if (auto s = r.AbsolutePath(api["socket"], "api.socket")) {
      if (s->size() >= 108) {
        r.Error(api["socket"], "api.socket",
                fmt::format("a Unix socket path must be shorter than 108 bytes, found {}",
                            s->size()));
      } else {
        c.api.socket = *s;
      }
    }
  }
  if (api["mode"]) {
    if (auto s = r.String(api["mode"], "api.mode")) {
      const bool octal = !s->empty() && s->size() <= 4 &&
                         s->find_first_not_of("01234567") == std::string::npos;
      if (!octal) {
        r.Error(api["mode"], "api.mode",
                fmt::format("expected an octal file mode such as \"0660\", found '{}'", *s));
      } else {
        c.api.mode = static_cast<std::uint32_t>(std::stoul(*s, nullptr, 8)) & 0777;
      }
    }
  }
  if (api["max_connections"]) {
    if (auto x = r.Integer(api["max_connections"], "api.max_connections", 1, 10000)) {
      c.api.max_connections = static_cast<std::size_t>(*x);
    }
  }
  if (api["idle_timeout"]) {
    if (auto d = r.DurationValue(api["idle_timeout"], "api.idle_timeout", false)) {
      c.api.idle_timeout = *d;
    }
  }
  if (api["sse_buffer"]) {
    if (auto x = r.Integer(api["sse_buffer"], "api.sse_buffer", 4096, 64 << 20)) {
      c.api.sse_buffer_bytes = static_cast<std::size_t>(*x);
    }
  }
}

void LoadMetricsSection(YamlReader& r, const YAML::Node& m, Config& c) {
  if (!r.CheckMap(m, "metrics", {"listen"}) || !m["listen"] || m["listen"].IsNull()) return;
  if (auto ep = r.EndpointValue(m["listen"], "metrics.listen")) {
    if (ep->kind == Endpoint::HostKind::kName) {
      r.Error(m["listen"], "metrics.listen", "expected an IP address, found a host name");
    } else {
      c.metrics.listen = ep;
    }
  }
}

void LoadLogSection(YamlReader& r, const YAML::Node& l, Config& c) {
  if (!r.CheckMap(l, "log", {"level"}) || !l["level"]) return;
  if (auto s = r.String(l["level"], "log.level")) {
    if (std::find(kLogLevels.begin(), kLogLevels.end(), *s) == kLogLevels.end()) {
      auto hint = DidYouMean(*s, kLogLevels);
      r.Error(l["level"], "log.level",
              fmt::format("expected one of {}, found '{}'{}", fmt::join(kLogLevels, ", "), *s,
                          hint ? fmt::format("; did you mean '{}'?", *hint) : ""));
    } else {
      c.log_level = *s;
    }
  }
}

void LoadStateSection(YamlReader& r, const YAML::Node& s, Config& c) {
  if (!r.CheckMap(s, "state", {"directory"}) || !s["directory"]) return;
  if (auto d = r.AbsolutePath(s["directory"], "state.directory")) c.state_directory = *d;
}

void LoadEventsSection(YamlReader& r, const YAML::Node& e, Config& c) {
  if (!r.CheckMap(e, "events", {"ring_size"}) || !e["ring_size"]) return;
  if (auto x = r.Integer(e["ring_size"], "events.ring_size", 16, 1000000)) {
    c.event_ring_size = static_cast<std::size_t>(*x);
  }
}

void LoadSecurityKeys(YamlReader& r, const YAML::Node& sec, Config& c) {
  if (sec["keyring"]) {
    if (auto k = r.AbsolutePath(sec["keyring"], "security.keyring")) {
      c.security.keyring = *k;
      c.security.require_auth = true;  // the default once there is a keyring
    }
  }
  if (sec["require_auth"]) {
    if (const auto b = r.Bool(sec["require_auth"], "security.require_auth")) {
      if (*b && !c.security.keyring && !sec["keyring"]) {
        r.Error(sec["require_auth"], "security.require_auth",
                "requires security.keyring: there is no key to check datagrams with");
      } else {
        c.security.require_auth = *b;
      }
    }
  }
  // Freshness is only worth proving for datagrams nobody else can make.
  c.security.require_echo = c.security.require_auth;
  if (sec["require_echo"]) {
    if (const auto b = r.Bool(sec["require_echo"], "security.require_echo")) {
      if (*b && !c.security.require_auth) {
        r.Error(sec["require_echo"], "security.require_echo",
                "requires security.require_auth (and a keyring): an echo in a datagram "
                "anyone can forge proves nothing");
      } else {
        c.security.require_echo = *b;
      }
    }
  }
}

void LoadSecuritySection(YamlReader& r, const YAML::Node& sec, Config& c) {
  if (sec["max_rejects_per_second"]) {
    r.Error(sec["max_rejects_per_second"], "security.max_rejects_per_second",
            "was removed in vigil 0.2: invalid datagrams are no longer limited per address "
            "(a flood from a peer's own address made its real heartbeats count as rejects); "
            "delete this line");
  }
  if (!r.CheckMap(sec, "security", {"keyring", "require_auth", "require_echo",
                                    "check_source_address", "max_rejects_per_second"})) {
    return;
  }
  if (sec["check_source_address"]) {
    if (auto b = r.Bool(sec["check_source_address"], "security.check_source_address")) {
      c.security.check_source_address = *b;
    }
  }
  LoadSecurityKeys(r, sec, c);
}

void LoadDetectorDefaults(YamlReader& r, const YAML::Node& root, Config& c) {
  std::map<std::string, YAML::Mark> given;
  YAML::Mark where = root.Mark();
  if (const auto det = root["detector"]) {
    where = det.Mark();
    r.Detector(det, "detector", c.detector, given);
  }
  r.CheckDetector(c.detector, "detector", given, where);
}

void Load(YamlReader& r, const YAML::Node& root, Config& c) {
  if (root.IsNull()) {
    YAML::Mark start;  // line 0, column 0: report at 1:1
    start.line = 0;
    start.column = 0;
    r.Error(start, "", "the file is empty; at least node.id is required");
    return;
  }
  if (!r.CheckMap(root, "", {"node", "heartbeat", "detector", "peers", "api", "metrics", "log",
                             "state", "events", "security", "recording"})) {
    return;
  }
  LoadNodeSection(r, root, c);
  if (const auto hb = root["heartbeat"]) LoadHeartbeatSection(r, hb, c);
  LoadDetectorDefaults(r, root, c);
  // Before peers: it is their default.
  if (const auto rec = root["recording"]) LoadRecordingSection(r, rec, c);
  if (const auto peers = root["peers"]) LoadPeersSection(r, peers, c);
  if (const auto api = root["api"]) LoadApiSection(r, api, c);
  if (const auto m = root["metrics"]) LoadMetricsSection(r, m, c);
  if (const auto l = root["log"]) LoadLogSection(r, l, c);
  if (const auto s = root["state"]) LoadStateSection(r, s, c);
  if (const auto sec = root["security"]) LoadSecuritySection(r, sec, c);
  if (const auto e = root["events"]) LoadEventsSection(r, e, c);
}

}  // namespace

ConfigResult LoadConfigString(const std::string& yaml, const std::string& name) {
  ConfigResult result;
  YamlReader reader(name);
  Config config;
  config.source = name;
  try {
    const YAML::Node root = YAML::Load(yaml);
    Load(reader, root, config);
  } catch (const YAML::Exception& e) {
    // Syntax errors, and anything yaml-cpp rejects while walking the tree.
    reader.Error(e.mark, "", "YAML syntax error: " + e.msg);
  }
  result.errors = std::move(reader.errors());
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
