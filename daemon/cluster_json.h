// The cluster member's API objects and metrics (docs/api.md, "GET /v1/members" and
// "GET /metrics"): what ClusterMember knows, as JSON and as Prometheus text.
#pragma once

#include <boost/json/object.hpp>

#include <string>

#include "daemon/clock.h"
#include "daemon/cluster_member.h"

namespace vigil {

// The cluster object of /v1/self, /v1/summary and /v1/members: {"self", "incarnation",
// "welcomed", "syncing", "members", "suspect", "down", "left", "taken_out", "watched",
// "reach", "majority", "receive_overflow"}. Cost: the tombstones held.
boost::json::object ClusterJson(const ClusterMember& cluster, MonoTime now);

// The receive-overflow guard's object: {"state": "ok" | "abstaining" | "reporting_anyway",
// "episodes", "capped_episodes", "last_episode_drops", "holding_reports_ms"}.
boost::json::object ReceiveOverflowJson(const ReceiveOverflow& overflow, MonoTime now);

// One entry of /v1/members' list: {"id", "state", "address", "incarnation", "since",
// "provenance", "reports", "observers", "last_heartbeat"}.
boost::json::object MemberJson(const ClusterMember& cluster, const std::string& id,
                               const membership::MemberStatus& status, Timestamp now);

// The vigil_cluster_* metric families, Prometheus text format.
std::string ClusterMetricsText(const ClusterMember& cluster);

}  // namespace vigil
