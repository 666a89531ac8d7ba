#include "config/peer_section.h"

#include <map>
#include <string>

#include <fmt/format.h>

namespace vigil {

namespace {

// Where each id and address was first used, to name the other place of a duplicate.
struct SeenPeers {
  std::map<std::string, std::string> ids;
  std::map<std::string, std::string> addresses;
};

bool LoadPeerId(YamlReader& r, const YAML::Node& p, const std::string& path, const Config& c,
                SeenPeers& seen, PeerConfig& pc) {
  if (!p["id"]) {
    r.Error(p, path + ".id", "required key is missing");
    return false;
  }
  const auto s = r.String(p["id"], path + ".id");
  if (!s || !r.ValidId(p["id"], path + ".id", *s)) return false;
  pc.id = *s;
  bool ok = true;
  if (auto [it, fresh] = seen.ids.emplace(pc.id, path); !fresh) {
    r.Error(p["id"], path + ".id",
            fmt::format("duplicate peer id '{}' (also {})", pc.id, it->second));
    ok = false;
  }
  if (!c.node.id.empty() && pc.id == c.node.id) {
    r.Error(p["id"], path + ".id",
            fmt::format("'{}' is this node's own id (node.id); a node does not list itself as "
                        "a peer",
                        pc.id));
    ok = false;
  }
  return ok;
}

bool LoadPeerAddress(YamlReader& r, const YAML::Node& p, const std::string& path,
                     const Config& c, SeenPeers& seen, PeerConfig& pc) {
  if (!p["address"]) {
    r.Error(p, path + ".address", "required key is missing");
    return false;
  }
  const auto ep = r.EndpointValue(p["address"], path + ".address");
  if (!ep) return false;
  pc.address = *ep;
  const std::string key = ep->ToString();
  bool ok = true;
  if (auto [it, fresh] = seen.addresses.emplace(key, path); !fresh) {
    r.Error(p["address"], path + ".address",
            fmt::format("duplicate peer address {} (also {})", key, it->second));
    ok = false;
  }
  const Endpoint& self = c.node.advertise ? *c.node.advertise : c.node.bind;
  if (*ep == self) {
    r.Error(p["address"], path + ".address", fmt::format("{} is this node's own address", key));
    ok = false;
  }
  return ok;
}

void LoadPeer(YamlReader& r, const YAML::Node& p, const std::string& path, Config& c,
              SeenPeers& seen) {
  if (!r.CheckMap(p, path, {"id", "address", "detector", "record"})) return;
  PeerConfig pc;
  // Both are checked, so every problem of the peer is reported at once.
  const bool id_ok = LoadPeerId(r, p, path, c, seen, pc);
  const bool address_ok = LoadPeerAddress(r, p, path, c, seen, pc);
  pc.record = c.recording.enabled;
  if (p["record"]) {
    if (auto b = r.Bool(p["record"], path + ".record")) pc.record = *b;
  }
  pc.detector = c.detector;
  if (const auto det = p["detector"]) {
    std::map<std::string, YAML::Mark> own;
    const std::size_t before = r.errors().size();
    r.Detector(det, path + ".detector", pc.detector, own);
    // Only report problems of keys this peer set itself; the defaults were checked.
    if (r.errors().size() == before) r.CheckDetector(pc.detector, path + ".detector", own, det.Mark());
  }
  if (id_ok && address_ok) c.peers.push_back(std::move(pc));
}

}  // namespace

void LoadPeersSection(YamlReader& r, const YAML::Node& peers, Config& c) {
  if (!peers.IsSequence()) {
    if (!peers.IsNull()) r.Error(peers, "peers", "expected a list of peers, found " + Describe(peers));
    return;
  }
  SeenPeers seen;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    LoadPeer(r, peers[i], fmt::format("peers[{}]", i), c, seen);
  }
}

}  // namespace vigil
