#include "daemon/cluster_json.h"

#include <algorithm>
#include <iterator>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace vigil {
namespace {

// `at` (monotonic) as Unix milliseconds, by `now`'s two readings.
std::int64_t WallMillis(MonoTime at, Timestamp now) {
  return EpochMillis(now.wall - std::chrono::duration_cast<WallTime::duration>(now.mono - at));
}

std::string AddressText(const boost::asio::ip::udp::endpoint& at) {
  return at.address().is_v6() ? fmt::format("[{}]:{}", at.address().to_string(), at.port())
                              : fmt::format("{}:{}", at.address().to_string(), at.port());
}

// A value that may be unknown: null then.
template <typename T>
boost::json::value OrNull(bool known, T v) {
  return known ? boost::json::value(v) : boost::json::value(nullptr);
}

// The samples of vigil_cluster_datagrams_rejected_total, one per reason.
void AppendRejectedSamples(const ClusterMember& cluster, std::string& out) {
  const membership::MembershipNode& m = cluster.member();
  const ClusterCounters& c = cluster.counters();
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
}

}  // namespace

boost::json::object ClusterJson(const ClusterMember& cluster, MonoTime now) {
  const membership::MembershipNode& member = cluster.member();
  const membership::ClusterCounts c = member.Counts();
  boost::json::object o;
  o["self"] = member.self();
  o["incarnation"] = member.incarnation();
  o["welcomed"] = member.welcomed();
  o["syncing"] = member.syncing();
  o["members"] = c.members;
  o["suspect"] = c.suspect;
  o["down"] = c.down;
  o["left"] = c.left;
  o["taken_out"] = c.down + c.left;
  o["watched"] = c.watched;
  // A member still copying the list holds only itself, and may know removals already.
  o["reach"] = OrNull(!member.syncing(), c.reach());
  o["majority"] = OrNull(!member.syncing(), c.majority());
  o["receive_overflow"] = ReceiveOverflowJson(cluster.overflow(), now);
  return o;
}

boost::json::object ReceiveOverflowJson(const ReceiveOverflow& overflow, MonoTime now) {
  boost::json::object o;
  const bool holding = overflow.Holding(now);
  o["state"] = holding ? "abstaining"
               : overflow.Overflowing(now) ? "reporting_anyway"
                                           : "ok";
  o["episodes"] = overflow.episodes();
  o["capped_episodes"] = overflow.capped_episodes();
  o["last_episode_drops"] = overflow.episode_drops();
  o["holding_reports_ms"] =
      holding ? static_cast<std::int64_t>(MillisBetween(now, overflow.hold_until())) : 0;
  return o;
}

boost::json::object MemberJson(const ClusterMember& cluster, const std::string& id,
                               const membership::MemberStatus& status, Timestamp now) {
  boost::json::object o;
  o["id"] = id;
  o["state"] = membership::MemberStateName(status.state);
  const auto where = cluster.Where(id);
  o["address"] = OrNull(where.has_value(), where ? AddressText(*where) : std::string());
  o["incarnation"] = OrNull(status.incarnation > 0, status.incarnation);
  const auto since = cluster.Since(id);
  o["since"] = OrNull(since.has_value(), since ? WallMillis(*since, now) : 0);
  o["provenance"] = membership::ProvenanceName(status.provenance);
  using membership::Provenance;
  const bool counted = status.provenance != Provenance::kDispute &&
                       status.provenance != Provenance::kListing;
  o["reports"] = OrNull(counted, status.reports);
  o["observers"] = OrNull(counted, status.observers);
  const auto& heard = status.last_heartbeat;
  o["last_heartbeat"] = OrNull(heard.has_value(), heard ? WallMillis(*heard, now) : 0);
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
  const membership::ClusterCounts counts = m.Counts();
  metric("vigil_cluster_members", "gauge",
         "Members in this node's view, itself included.", counts.members);
  metric("vigil_cluster_suspect", "gauge",
         "Of those, members at least L of whose observers report them (a failure in progress).",
         counts.suspect);
  metric("vigil_cluster_taken_out", "gauge",
         "Members this node took out (down or left) and still remembers.",
         counts.down + counts.left);
  metric("vigil_cluster_left", "gauge",
         "Of those, the members that said they were leaving (left).", counts.left);
  if (!m.syncing()) {  // as in ClusterJson
    family("vigil_cluster_reach_ratio", "gauge",
           "members / (members + down): the share of the cluster this node still holds.");
    fmt::format_to(std::back_inserter(out), "vigil_cluster_reach_ratio {}\n", counts.reach());
    metric("vigil_cluster_majority", "gauge",
           "1 if this node holds more than half of the cluster (members > down), else 0.",
           counts.majority() ? 1 : 0);
  }
  metric("vigil_cluster_seeds_unresolved", "gauge",
         "Seeds given as host names that have no address yet.", cluster.unresolved_seeds());
  metric("vigil_cluster_watched", "gauge", "Members this node observes.", m.subject_count());
  metric("vigil_cluster_incarnation", "gauge", "This member's incarnation.", m.incarnation());
  metric("vigil_cluster_convictions_total", "counter",
         "Times this node convicted a member it observes (by its detector, or on corroboration).",
         m.convictions());
  metric("vigil_cluster_corroborated_convictions_total", "counter",
         "Of those, convictions on less silence because L other observers reported the member.",
         m.corroborated_convictions());
  metric("vigil_cluster_reports_held_total", "counter",
         "Reports this node held back while abstaining (after a stall or a bulk addition, "
         "or while its receive buffer overflows).", m.abstentions());
  const ReceiveOverflow& overflow = cluster.overflow();
  metric("vigil_cluster_receive_overflows_total", "counter",
         "Episodes in which the kernel dropped datagrams for this node and it abstained.",
         overflow.episodes());
  metric("vigil_cluster_receive_overflows_capped_total", "counter",
         "Of those, episodes that went on so long that this node reported again during them.",
         overflow.capped_episodes());
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
  AppendRejectedSamples(cluster, out);
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
