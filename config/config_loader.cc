// YAML -> Config, one function per section. Every check reports into one list so the user
// sees all problems at once. yaml-cpp throws; those exceptions are caught here, at the edge,
// and become ConfigErrors.
#include <arpa/inet.h>
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
#include "config/settings.h"
#include "config/yaml_reader.h"

namespace vigil {

std::string ConfigError::ToString() const {
  if (line == 0) return fmt::format("{}: {}{}", file, key.empty() ? "" : key + ": ", message);
  return fmt::format("{}:{}:{}: {}{}", file, line, column, key.empty() ? "" : key + ": ",
                     message);
}

namespace {

// Reads the keys the settings table declares for `section` (config/settings.h); `extra`
// keys are also allowed and left to the caller. Returns false if `n` is not a mapping.
bool LoadSection(YamlReader& r, const YAML::Node& n, std::string_view section, Config& c,
                 std::initializer_list<std::string_view> extra = {}) {
  const auto settings = SettingsOf(section);
  std::vector<std::string_view> allowed;
  for (const Setting* s : settings) allowed.push_back(s->Name());
  allowed.insert(allowed.end(), extra);
  if (!r.CheckMap(n, section, allowed)) return false;
  for (const Setting* s : settings) {
    if (const auto value = n[std::string(s->Name())]) s->read(r, value, *s, c);
  }
  return true;
}

void LoadNodeSection(YamlReader& r, const YAML::Node& root, Config& c) {
  const auto node = root["node"];
  if (!node) {
    r.Error(root, "node", "required section is missing (it must set node.id)");
  } else if (node.IsNull()) {
    r.Error(node, "node.id", "required key is missing");
  } else if (LoadSection(r, node, "node", c) && !node["id"]) {
    r.Error(node, "node.id", "required key is missing");
  }
}

// The rules between security keys: a keyring turns authentication on unless require_auth
// says otherwise; require_echo follows require_auth; neither may be on without its basis.
void ApplySecurityRules(YamlReader& r, const YAML::Node& sec, Config& c,
                        std::size_t errors_before) {
  // A key whose own value was wrong is reported once, without follow-on errors.
  if (r.errors().size() > errors_before) return;
  auto& s = c.security;
  if (sec["keyring"] && !sec["require_auth"]) s.require_auth = s.keyring.has_value();
  if (s.require_auth && !sec["keyring"]) {
    r.Error(sec["require_auth"], "security.require_auth",
            "requires security.keyring: there is no key to check datagrams with");
    s.require_auth = false;
  }
  // Freshness is only worth proving for datagrams nobody else can make.
  if (!sec["require_echo"]) s.require_echo = s.require_auth;
  if (s.require_echo && !s.require_auth) {
    r.Error(sec["require_echo"], "security.require_echo",
            "requires security.require_auth (and a keyring): an echo in a datagram "
            "anyone can forge proves nothing");
    s.require_echo = false;
  }
}

void LoadSecuritySection(YamlReader& r, const YAML::Node& sec, Config& c) {
  if (sec["max_rejects_per_second"]) {
    r.Error(sec["max_rejects_per_second"], "security.max_rejects_per_second",
            "was removed in vigil 0.2: invalid datagrams are no longer limited per address "
            "(a flood from a peer's own address made its real heartbeats count as rejects); "
            "delete this line");
  }
  const std::size_t errors_before = r.errors().size();
  if (LoadSection(r, sec, "security", c, {"max_rejects_per_second"})) {
    ApplySecurityRules(r, sec, c, errors_before);
  }
}

// After security: enrollment trusts a sender because it proved it holds a key.
void LoadEnrollmentSection(YamlReader& r, const YAML::Node& e, Config& c) {
  if (!LoadSection(r, e, "enrollment", c) || !c.enrollment.enabled) return;
  if (!c.security.require_auth) {
    r.Error(e["enabled"], "enrollment.enabled",
            "requires security.require_auth (and a keyring): without it anyone could enroll "
            "any id, up to enrollment.max_peers");
    c.enrollment.enabled = false;
  }
}

// Whether `e` is an IP address of all zeros (0.0.0.0, ::): a bind to every interface.
bool IsWildcard(const Endpoint& e) {
  unsigned char bytes[16] = {};
  const int family = e.kind == Endpoint::HostKind::kIPv6 ? AF_INET6 : AF_INET;
  if (e.kind == Endpoint::HostKind::kName || inet_pton(family, e.host.c_str(), bytes) != 1) {
    return false;
  }
  return std::all_of(std::begin(bytes), std::end(bytes), [](unsigned char b) { return b == 0; });
}

// A cluster member's addresses: the seeds it sends to (given as IP addresses: a host name's
// addresses are taken at run time, those of a usable family) and the one it advertises
// must be of a family the socket node.bind opens speaks (IPv4, IPv6, or both for [::]),
// and it must advertise a specific IP address.
void CheckClusterAddresses(YamlReader& r, const YAML::Node& seeds, const YAML::Node& root,
                           const Config& c) {
  const auto reaches = [&](const Endpoint& e) {
    if (c.node.bind.kind == Endpoint::HostKind::kIPv4) return e.kind == Endpoint::HostKind::kIPv4;
    return IsWildcard(c.node.bind) || e.kind == Endpoint::HostKind::kIPv6;
  };
  const auto family = [](const Endpoint& e) {
    return std::string(e.kind == Endpoint::HostKind::kIPv6 ? "an IPv6" : "an IPv4");
  };
  for (std::size_t i = 0; i < c.cluster.seeds.size(); ++i) {
    if (c.cluster.seeds[i].kind != Endpoint::HostKind::kName && !reaches(c.cluster.seeds[i])) {
      r.Error(seeds[i], "cluster.seeds[" + std::to_string(i) + "]",
              family(c.cluster.seeds[i]) + " address cannot be reached from node.bind " +
                  c.node.bind.ToString() + "; bind [::] to reach both");
    }
  }
  const auto& advertise = c.node.advertise;
  if (advertise && advertise->kind == Endpoint::HostKind::kName) {
    r.Error(root["node"]["advertise"], "node.advertise",
            "must be an IP address in a cluster member (the other members send to it); "
            "found host name '" + advertise->host + "'");
  } else if (advertise && IsWildcard(*advertise)) {
    r.Error(root["node"]["advertise"], "node.advertise",
            "must be this node's own IP address in a cluster member, not " +
                advertise->ToString() + " (every interface)");
  } else if (advertise && !reaches(*advertise)) {
    r.Error(root["node"]["advertise"], "node.advertise",
            family(*advertise) + " address, but node.bind " + c.node.bind.ToString() +
                " does not receive on that family");
  } else if (!advertise && IsWildcard(c.node.bind)) {
    r.Error(seeds, "cluster.seeds",
            "a member must say where the others reach it: set node.advertise to this "
            "node's IP address, or bind node.bind to it (it binds " + c.node.bind.ToString() +
                ")");
  }
}

// After security and enrollment: a member admits whoever signs with the cluster's key, and
// tells the others where it is (node.advertise, or node.bind's address).
void LoadClusterSection(YamlReader& r, const YAML::Node& cl, const YAML::Node& root,
                        Config& c) {
  const std::size_t errors_before = r.errors().size();
  if (!LoadSection(r, cl, "cluster", c) || r.errors().size() > errors_before ||
      c.cluster.seeds.empty()) {
    return;
  }
  const YAML::Node seeds = cl["seeds"];
  if (!c.security.require_auth) {
    r.Error(seeds, "cluster.seeds",
            "requires security.keyring (and security.require_auth): members admit whoever "
            "signs with the cluster's key, and without one anybody could join");
  }
  if (c.enrollment.enabled) {
    r.Error(seeds, "cluster.seeds",
            "cannot be used with enrollment.enabled: both would claim the senders that are not "
            "listed in peers:");
  }
  if (!c.peers.empty()) {
    r.Error(seeds, "cluster.seeds",
            "cannot be used with peers: yet (a member listed as a peer would send this node "
            "two streams of heartbeats under one id); remove one of them");
  }
  CheckClusterAddresses(r, seeds, root, c);
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
                             "state", "events", "security", "recording", "enrollment",
                             "cluster"})) {
    return;
  }
  LoadNodeSection(r, root, c);
  if (const auto hb = root["heartbeat"]) LoadSection(r, hb, "heartbeat", c);
  LoadDetectorDefaults(r, root, c);
  // Before peers: it is their default.
  if (const auto rec = root["recording"]) LoadSection(r, rec, "recording", c);
  if (const auto peers = root["peers"]) LoadPeersSection(r, peers, c);
  for (const char* section : {"api", "metrics", "log", "state", "events"}) {
    if (const auto n = root[section]) LoadSection(r, n, section, c);
  }
  if (const auto sec = root["security"]) LoadSecuritySection(r, sec, c);
  if (const auto e = root["enrollment"]) LoadEnrollmentSection(r, e, c);
  if (const auto cl = root["cluster"]) LoadClusterSection(r, cl, root, c);
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
