// The cluster member's API document and metrics (docs/api.md, "GET /v1/members" and
// "GET /metrics"): what ClusterMember knows, as JSON and as Prometheus text.
#pragma once

#include <boost/json/object.hpp>

#include <string>

#include "daemon/clock.h"
#include "daemon/cluster_member.h"

namespace vigil {

// {"self", "incarnation", "welcomed", "syncing", "members": N, "taken_out": N,
//  "list": [{"id", "state": "up"|"down", "address", "incarnation", "since"}...]}: every
// member in this node's view, then every member it took out and still remembers, each
// sorted by id.
boost::json::object MembersJson(const ClusterMember& cluster, Timestamp now);

// The vigil_cluster_* metric families, Prometheus text format.
std::string ClusterMetricsText(const ClusterMember& cluster);

}  // namespace vigil
