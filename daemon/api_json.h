// The JSON documents of the local API (docs/api.md describes each field).
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "daemon/clock.h"
#include "daemon/event_ring.h"
#include "daemon/local_health.h"
#include "daemon/send_schedule.h"
#include "daemon/node.h"
#include "json/json_text.h"

namespace vigil {

// Facts about the daemon itself for /v1/self.
struct SelfInfo {
  std::string id;
  std::string version;
  std::uint64_t incarnation = 0;
  Timestamp started;
  std::string bind;
  std::string socket;
};

boost::json::object PeerJson(const PeerRecord& peer, Timestamp now);
// When the peer was last heard, in Unix milliseconds: by this run, else by the previous one
// (the state file); nullopt if never.
std::optional<std::int64_t> LastHeartbeatMillis(const PeerRecord& peer);
// A peer no longer tracked, only remembered (Node::FindRemembered): what GET /v1/peers/{id}
// answers for an enrolled peer forgotten after enrollment.retention.
boost::json::object RememberedPeerJson(const PersistedPeer& peer, Timestamp now);
boost::json::object SelfJson(const Node& node, const SelfInfo& self, Timestamp now);
// GET /v1/summary: counts only, by state for listed and enrolled peers, and the remembered;
// O(listed peers), never O(enrolled).
boost::json::object SummaryJson(const Node& node);
boost::json::object EventJson(const EventRecord& event);
boost::json::object LocalHealthJson(const LocalHealth& health, Timestamp now);
// The pacing of this daemon's own heartbeats: {"state":"ok"|"overloaded", ...}.
boost::json::object SendLoadJson(const SendLoad& load, Timestamp now);
boost::json::object ErrorJson(int status, std::string_view message);

}  // namespace vigil
