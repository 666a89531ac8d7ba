#include "daemon/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>

#include <fmt/format.h>

namespace vigil {
namespace {

std::string Escape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

class Writer {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
  }
  void Sample(std::string_view name, std::string_view labels, double value) {
    if (labels.empty()) {
      fmt::format_to(std::back_inserter(out_), "{} {}\n", name, Number(value));
    } else {
      fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, Number(value));
    }
  }
  // A family with one unlabelled sample.
  void Single(std::string_view name, std::string_view type, std::string_view help, double value) {
    Family(name, type, help);
    Sample(name, "", value);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Writes the build, start-time and incarnation families: who this daemon is.
void WriteIdentity(Writer& w, const SelfInfo& self) {
  w.Family("vigil_build_info", "gauge", "Version of vigild (always 1).");
  w.Sample("vigil_build_info", fmt::format("version=\"{}\",node=\"{}\"", Escape(self.version),
                                           Escape(self.id)),
           1);
  w.Single("vigil_start_time_seconds", "gauge", "When vigild started, in Unix seconds.",
           static_cast<double>(EpochMillis(self.started.wall)) / 1000.0);
  w.Single("vigil_incarnation", "gauge", "This daemon's incarnation number.",
           static_cast<double>(self.incarnation));
}

// Writes the peer families: counts by state, then one sample per peer for each family.
void WritePeers(Writer& w, const Node& node, Timestamp now, std::size_t series_limit) {
  const auto by_state = node.CountByState();
  w.Family("vigil_peers", "gauge", "Tracked peers (listed and enrolled) by current state.");
  for (std::size_t s = 0; s < by_state.size(); ++s) {
    w.Sample("vigil_peers", fmt::format("state=\"{}\"", PeerStateName(static_cast<PeerState>(s))),
             static_cast<double>(by_state[s]));
  }

  w.Single("vigil_enrolled_peers", "gauge",
           "Peers accepted by enrollment (not listed in peers:) and tracked now.",
           static_cast<double>(node.enrolled_count()));
  w.Single("vigil_remembered_peers", "gauge",
           "Enrolled peers forgotten after enrollment.retention whose last seen is kept.",
           static_cast<double>(node.remembered_count()));
  w.Single("vigil_remembered_bytes", "gauge",
           "Memory the remembered table holds (records and index).",
           static_cast<double>(node.remembered_bytes()));
  // Per-peer series for listed peers only: enrolled peers may be a million (aggregates only),
  // and for at most series_limit of them: the body is written in one turn of the loop.
  const auto listed = node.listed();
  const std::size_t with_series = std::min(listed.size(), series_limit);
  const PeerRange peers{listed.begin(), listed.begin() + static_cast<std::ptrdiff_t>(with_series)};
  w.Single("vigil_peers_without_series", "gauge",
           "Listed peers without vigil_peer_* series (beyond metrics.peer_series_limit).",
           static_cast<double>(listed.size() - with_series));
  auto per_peer = [&](std::string_view name, std::string_view type, std::string_view help,
                      auto value) {
    w.Family(name, type, help);
    for (const auto& p : peers) {
      w.Sample(name, fmt::format("peer=\"{}\"", Escape(p.id)), value(p));
    }
  };
  per_peer("vigil_peer_up", "gauge", "1 if the peer is up, else 0.",
           [](const PeerRecord& p) { return p.monitor.state() == PeerState::kUp ? 1.0 : 0.0; });
  w.Family("vigil_peer_state", "gauge", "1 for the peer's current state, 0 for the others.");
  for (const auto& p : peers) {
    for (std::size_t s = 0; s < by_state.size(); ++s) {
      const auto state = static_cast<PeerState>(s);
      w.Sample("vigil_peer_state",
               fmt::format("peer=\"{}\",state=\"{}\"", Escape(p.id), PeerStateName(state)),
               p.monitor.state() == state ? 1.0 : 0.0);
    }
  }
  per_peer("vigil_peer_phi", "gauge", "The peer's current suspicion level (phi).",
           [&](const PeerRecord& p) { return p.monitor.Level(now.mono); });
  per_peer("vigil_peer_last_heartbeat_age_seconds", "gauge",
           "Seconds since the peer's last heartbeat (monotonic; NaN if never heard).",
           [&](const PeerRecord& p) {
             const auto last = p.monitor.detector().last_heartbeat();
             return last ? std::max(0.0, MillisBetween(*last, now.mono)) / 1000.0 : std::nan("");
           });
  per_peer("vigil_peer_heartbeats_received_total", "counter",
           "Heartbeats accepted from the peer.",
           [](const PeerRecord& p) { return static_cast<double>(p.heartbeats_received); });
  per_peer("vigil_peer_heartbeats_lost_total", "counter",
           "Heartbeats the peer sent that never arrived (sequence gaps).",
           [](const PeerRecord& p) { return static_cast<double>(p.sequence.lost()); });
  per_peer("vigil_peer_flaps_total", "counter",
           "Times the peer went from up to suspect or down.",
           [](const PeerRecord& p) { return static_cast<double>(p.monitor.flaps()); });
}

// Writes the Node's datagram, heartbeat and transition counters.
void WriteDatagrams(Writer& w, const NodeCounters& c) {
  w.Single("vigil_datagrams_received_total", "counter", "UDP datagrams received.",
           static_cast<double>(c.datagrams_received));
  w.Family("vigil_datagrams_rejected_total", "counter",
           "UDP datagrams rejected, by reason (see docs/protocol.md).");
  for (std::size_t r = 0; r < c.rejected.size(); ++r) {
    w.Sample("vigil_datagrams_rejected_total",
             fmt::format("reason=\"{}\"", RejectReasonName(static_cast<RejectReason>(r))),
             static_cast<double>(c.rejected[r]));
  }
  w.Single("vigil_heartbeats_late_total", "counter",
           "Heartbeats that arrived after a newer one (reordered), inside the 64-number window.",
           static_cast<double>(c.late_heartbeats));
  w.Single("vigil_heartbeats_accepted_total", "counter", "Heartbeats accepted from all peers.",
           static_cast<double>(c.heartbeats_accepted));
  w.Single("vigil_peers_enrolled_total", "counter",
           "Senders enrolled (a remembered peer heard again included).",
           static_cast<double>(c.peers_enrolled));
  w.Single("vigil_peers_forgotten_total", "counter",
           "Enrolled peers moved to the remembered table after enrollment.retention of silence.",
           static_cast<double>(c.peers_forgotten));
  w.Single("vigil_remembered_refused_total", "counter",
           "Peers not remembered because the remembered table's 4 GiB of records were full.",
           static_cast<double>(c.remembered_refused));
  w.Single("vigil_deadline_evaluations_total", "counter",
           "Peers judged because their deadline came (the only way silence makes a peer "
           "suspect or down: no scan over all peers).",
           static_cast<double>(c.deadline_evaluations));
  w.Family("vigil_transitions_total", "counter", "Peer state transitions, by new state.");
  for (std::size_t s = 0; s < c.transitions_to.size(); ++s) {
    w.Sample("vigil_transitions_total",
             fmt::format("to=\"{}\"", PeerStateName(static_cast<PeerState>(s))),
             static_cast<double>(c.transitions_to[s]));
  }
}

// Writes the daemon's own I/O, reload, state-file and trace counters.
void WriteDaemonIo(Writer& w, const DaemonCounters& daemon) {
  w.Single("vigil_heartbeats_sent_total", "counter", "Heartbeat datagrams sent.",
           static_cast<double>(daemon.heartbeats_sent));
  w.Single("vigil_send_errors_total", "counter", "Datagrams the kernel refused to send.",
           static_cast<double>(daemon.send_errors));
  w.Single("vigil_receive_errors_total", "counter", "Errors reading the UDP socket.",
           static_cast<double>(daemon.receive_errors));
  w.Single("vigil_receive_buffer_drops_total", "counter", "Datagrams the kernel dropped because vigild's receive buffer was full.",
           static_cast<double>(daemon.receive_buffer_drops));
  w.Single("vigil_receive_wakeups_total", "counter",
           "Times the UDP receive loop woke up (for a readable socket, or after a "
           "node.receive_coalesce window).",
           static_cast<double>(daemon.receive_wakeups));
  w.Single("vigil_unresolved_peers", "gauge", "Peers whose host name does not resolve.",
           static_cast<double>(daemon.unresolved_peers));
  w.Family("vigil_config_reloads_total", "counter", "Configuration reloads (SIGHUP), by result.");
  w.Sample("vigil_config_reloads_total", "result=\"ok\"", static_cast<double>(daemon.reloads_ok));
  w.Sample("vigil_config_reloads_total", "result=\"failed\"",
           static_cast<double>(daemon.reloads_failed));
  w.Single("vigil_config_last_reload_successful", "gauge", "1 if the last reload succeeded (or none happened), 0 if it failed.",
           daemon.last_reload_ok ? 1.0 : 0.0);
  w.Single("vigil_state_snapshot_longest_step_seconds", "gauge",
           "The longest the event loop spent in one step of the last state-file snapshot "
           "(a slice of 5,000 tracked peers or of 5,000 remembered records, or the peers "
           "enrolled meanwhile).",
           daemon.state_snapshot_longest_step);
  w.Family("vigil_state_writes_total", "counter", "State file writes, by result.");
  w.Sample("vigil_state_writes_total", "result=\"ok\"", static_cast<double>(daemon.state_writes));
  w.Sample("vigil_state_writes_total", "result=\"failed\"",
           static_cast<double>(daemon.state_write_errors));
  w.Single("vigil_trace_rows_total", "counter", "Heartbeat arrivals written to trace files (recording).",
           static_cast<double>(daemon.trace_rows));
  w.Single("vigil_trace_errors_total", "counter", "Trace files that could not be opened or written; recording of that peer stops until reload.",
           static_cast<double>(daemon.trace_errors));
  w.Single("vigil_traced_peers", "gauge", "Peers whose heartbeat arrivals are being recorded.",
           static_cast<double>(daemon.traced_peers));
}

// Writes how late the event loop ran, as a histogram and its maximum.
void WriteLoopLag(Writer& w, const LoopLag& lag) {
  w.Family("vigil_loop_lag_seconds", "histogram",
           "How late the event loop's 50 ms tick fired: how long every datagram, deadline and "
           "API request could have waited behind other work.");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < LoopLag::kBounds.size(); ++b) {
    cumulative += lag.buckets()[b];
    w.Sample("vigil_loop_lag_seconds_bucket", fmt::format("le=\"{}\"", LoopLag::kBounds[b]),
             static_cast<double>(cumulative));
  }
  w.Sample("vigil_loop_lag_seconds_bucket", "le=\"+Inf\"", static_cast<double>(lag.count()));
  w.Sample("vigil_loop_lag_seconds_sum", "", lag.sum_seconds());
  w.Sample("vigil_loop_lag_seconds_count", "", static_cast<double>(lag.count()));
  w.Single("vigil_loop_lag_max_seconds", "gauge",
           "The latest the event loop's tick has fired since vigild started.", lag.max_seconds());
}

// Writes the API socket and event-subscriber counters.
void WriteApi(Writer& w, const DaemonCounters& daemon) {
  w.Single("vigil_api_requests_total", "counter", "HTTP requests served on the API socket.",
           static_cast<double>(daemon.api_requests));
  w.Single("vigil_api_errors_total", "counter", "API responses with a 4xx or 5xx status.",
           static_cast<double>(daemon.api_errors));
  w.Single("vigil_api_connections", "gauge", "Open API connections.",
           static_cast<double>(daemon.api_connections));
  w.Single("vigil_api_connections_refused_total", "counter", "API connections refused because api.max_connections was reached.",
           static_cast<double>(daemon.api_connections_refused));
  w.Single("vigil_event_subscribers", "gauge", "Clients subscribed to /v1/events.",
           static_cast<double>(daemon.sse_clients));
  w.Single("vigil_event_subscribers_dropped_total", "counter", "Event subscribers disconnected for falling too far behind.",
           static_cast<double>(daemon.sse_clients_dropped));
}

// Writes the local-health guard's families: whether this daemon could observe its peers.
void WriteLocalHealth(Writer& w, const LocalHealth& health, Timestamp now) {
  w.Single("vigil_local_degraded", "gauge",
           "1 while this daemon holds convictions because it was not observing (stall, stop, "
           "suspend).",
           health.Degraded(now.mono) ? 1.0 : 0.0);
  w.Single("vigil_local_stalls_total", "counter",
           "Episodes in which this daemon could not observe its peers.",
           static_cast<double>(health.episodes()));
  w.Single("vigil_local_stall_seconds_total", "counter",
           "Total time this daemon could not observe its peers.",
           ToMillis(health.total_gap()) / 1000.0);
}

// Writes the send-load families: how the pacing of our own heartbeats keeps up.
void WriteSendLoad(Writer& w, const SendLoad& send_load, Timestamp now) {
  w.Single("vigil_send_overloaded", "gauge",
           "1 while this daemon's heartbeat rounds finish later than the heartbeat interval "
           "(and for 10 s after the last late one).",
           send_load.Overloaded(now.mono) ? 1.0 : 0.0);
  w.Single("vigil_send_rounds_total", "counter", "Heartbeat rounds sent to every peer.",
           static_cast<double>(send_load.rounds()));
  w.Single("vigil_send_rounds_late_total", "counter",
           "Heartbeat rounds that finished after the next round was due.",
           static_cast<double>(send_load.late_rounds()));
  w.Single("vigil_send_round_seconds", "gauge",
           "How long the last heartbeat round took, from its slot to its last datagram.",
           ToMillis(send_load.last_round()) / 1000.0);
}

}  // namespace

std::string RenderMetrics(const Node& node, const DaemonCounters& daemon, const SelfInfo& self,
                          Timestamp now, const LocalHealth* health,
                          const SendLoad* send_load, std::size_t peer_series_limit) {
  Writer w;
  WriteIdentity(w, self);
  WritePeers(w, node, now, peer_series_limit);
  WriteDatagrams(w, node.counters());
  WriteDaemonIo(w, daemon);
  WriteApi(w, daemon);
  WriteLoopLag(w, daemon.loop_lag);
  if (health) WriteLocalHealth(w, *health, now);
  if (send_load) WriteSendLoad(w, *send_load, now);
  return w.Take();
}

}  // namespace vigil
