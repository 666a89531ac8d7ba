#include "daemon/cluster_json.h"

#include <algorithm>
#include <iterator>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace vigil {
namespace {

// `at` (monotonic) as Unix milliseconds, by `now`'s two readings.
std::int64_t WallMillis(MonoTime at, Timestamp now) {
  return EpochMillis(now.wall - std::chrono::duration_cast<WallTime::duration>(now.mono - at));
}

boost::json::object MemberJson(const ClusterMember& cluster, const std::string& id,
                               std::string_view state, std::uint64_t incarnation,
                               Timestamp now) {
  boost::json::object o;
  o["id"] = id;
  o["state"] = state;
  const auto where = cluster.Where(id);
  if (where) {
    o["address"] = where->address().is_v6()
                       ? fmt::format("[{}]:{}", where->address().to_string(), where->port())
                       : fmt::format("{}:{}", where->address().to_string(), where->port());
  } else {
    o["address"] = nullptr;
  }
  if (incarnation > 0) {
    o["incarnation"] = incarnation;
  } else {
    o["incarnation"] = nullptr;
  }
  const auto since = cluster.Since(id);
  if (since) {
    o["since"] = WallMillis(*since, now);
  } else {
    o["since"] = nullptr;
  }
  return o;
}

}  // namespace

boost::json::object MembersJson(const ClusterMember& cluster, Timestamp now) {
  const membership::MembershipNode& member = cluster.member();
  boost::json::object o;
  o["self"] = member.self();
  o["incarnation"] = member.incarnation();
  o["welcomed"] = member.welcomed();
  o["syncing"] = member.syncing();
  o["members"] = member.view().size();
  o["taken_out"] = member.tombstone_count();
  boost::json::array list;
  list.reserve(member.view().size() + member.tombstone_count());
  // The view is in ring order, not by id.
  std::vector<std::string> up(member.view().members().begin(), member.view().members().end());
  std::sort(up.begin(), up.end());
  for (const std::string& id : up) {
    list.push_back(MemberJson(cluster, id, "up", member.IncarnationOf(id), now));
  }
  std::vector<std::tuple<std::string, std::uint64_t, bool>> out;
  member.ForEachTakenOut([&](const std::string& id, std::uint64_t incarnation, bool left) {
    out.emplace_back(id, incarnation, left);
  });
  std::sort(out.begin(), out.end());
  for (const auto& [id, incarnation, left] : out) {
    list.push_back(MemberJson(cluster, id, left ? "left" : "down", incarnation, now));
  }
  o["list"] = std::move(list);
  return o;
}

std::string ClusterMetricsText(const ClusterMember& cluster) {
  const membership::MembershipNode& m = cluster.member();
  const ClusterCounters& c = cluster.counters();
  std::string out;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
  };
  // A family of one sample without labels.
  auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                    std::uint64_t v) {
    family(name, type, help);
    fmt::format_to(std::back_inserter(out), "{} {}\n", name, v);
  };
  metric("vigil_cluster_members", "gauge",
         "Members in this node's view, itself included.", m.view().size());
  metric("vigil_cluster_taken_out", "gauge",
         "Members this node took out (down or left) and still remembers.", m.tombstone_count());
  metric("vigil_cluster_left", "gauge",
         "Of those, the members that said they were leaving (left).", m.left_count());
  metric("vigil_cluster_seeds_unresolved", "gauge",
         "Seeds given as host names that have no address yet.", cluster.unresolved_seeds());
  metric("vigil_cluster_watched", "gauge", "Members this node observes.", m.subject_count());
  metric("vigil_cluster_incarnation", "gauge", "This member's incarnation.", m.incarnation());
  metric("vigil_cluster_convictions_total", "counter",
         "Times this node's detectors convicted a member it observes.", m.convictions());
  metric("vigil_cluster_refutations_total", "counter",
         "Times this node was reported and refuted with a higher incarnation.", m.refutations());
  metric("vigil_cluster_cuts_total", "counter", "View changes that took members out.", m.cuts());
  metric("vigil_cluster_unconfirmed_answered_total", "counter",
         "Answers to unconfirmed datagrams: this node's incarnation, told to their sender.",
         m.unconfirmed_answered());
  family("vigil_cluster_datagrams_received_total", "counter",
         "Cluster datagrams taken, by kind (heartbeat, membership).");
  fmt::format_to(std::back_inserter(out),
                 "vigil_cluster_datagrams_received_total{{kind=\"heartbeat\"}} {}\n"
                 "vigil_cluster_datagrams_received_total{{kind=\"membership\"}} {}\n",
                 c.heartbeats_received, c.gossip_received);
  family("vigil_cluster_datagrams_rejected_total", "counter",
         "Cluster datagrams refused, by reason.");
  using membership::Freshness;
  using membership::Stream;
  const std::pair<std::string_view, std::uint64_t> refusals[] = {
      {"heartbeat_unauthenticated", c.heartbeats_unauthenticated},
      {"heartbeat_unknown_key", c.heartbeats_unknown_key},
      {"heartbeat_bad_mac", c.heartbeats_bad_mac},
      {"heartbeat_unconfirmed", m.refused(Stream::kHeartbeat, Freshness::kUnconfirmed)},
      {"heartbeat_old_sequence",
       m.heartbeats_refused() + m.refused(Stream::kHeartbeat, Freshness::kOldSequence)},
      {"unconfirmed", m.refused(Stream::kGossip, Freshness::kUnconfirmed)},
      {"old_sequence", m.refused(Stream::kGossip, Freshness::kOldSequence)}};
  for (const auto& [reason, count] : refusals) {
    fmt::format_to(std::back_inserter(out),
                   "vigil_cluster_datagrams_rejected_total{{reason=\"{}\"}} {}\n", reason,
                   count);
  }
  for (std::size_t r = 0; r < c.gossip_rejected.size(); ++r) {
    fmt::format_to(std::back_inserter(out),
                   "vigil_cluster_datagrams_rejected_total{{reason=\"{}\"}} {}\n",
                   membership::GossipRejectName(static_cast<membership::GossipReject>(r)),
                   c.gossip_rejected[r]);
  }
  metric("vigil_cluster_datagrams_sent_total", "counter",
         "Cluster datagrams sent.", c.datagrams_sent);
  family("vigil_cluster_send_failures_total", "counter",
         "Cluster datagrams not sent: refused by the socket, or to a member whose address "
         "is not known (reason).");
  fmt::format_to(std::back_inserter(out),
                 "vigil_cluster_send_failures_total{{reason=\"socket\"}} {}\n"
                 "vigil_cluster_send_failures_total{{reason=\"no_address\"}} {}\n",
                 c.send_failures, c.no_contact);
  return out;
}

}  // namespace vigil
