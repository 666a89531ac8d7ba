// /metrics in the Prometheus text exposition format (version 0.0.4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/api_json.h"
#include "daemon/local_health.h"
#include "daemon/loop_lag.h"
#include "daemon/send_schedule.h"
#include "daemon/node.h"

namespace vigil {

// Counters kept by the I/O side of the daemon (the Node keeps its own).
struct DaemonCounters {
  std::uint64_t heartbeats_sent = 0;
  std::uint64_t leaves_sent = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t receive_errors = 0;
  std::uint64_t receive_buffer_drops = 0;  // dropped by the kernel: socket buffer full
  std::uint64_t receive_wakeups = 0;       // UdpEndpoint::wakeups(), as of the last API call
  std::uint64_t api_requests = 0;
  std::uint64_t api_errors = 0;  // 4xx/5xx responses
  std::uint64_t api_connections = 0;  // currently open
  std::uint64_t api_connections_refused = 0;
  std::uint64_t sse_clients = 0;  // currently subscribed
  std::uint64_t sse_clients_dropped = 0;  // too slow, buffer cap reached
  std::uint64_t unresolved_peers = 0;
  std::uint64_t reloads_ok = 0;
  std::uint64_t reloads_failed = 0;
  bool last_reload_ok = true;
  std::uint64_t state_writes = 0;
  std::uint64_t state_write_errors = 0;
  // The longest the event loop spent in one step of the last state-file snapshot (a slice
  // of the table, the remembered peers, the header), in seconds.
  double state_snapshot_longest_step = 0;
  std::uint64_t trace_rows = 0;        // heartbeat arrivals recorded to trace files
  std::uint64_t trace_errors = 0;      // trace files that could not be opened or written
  std::uint64_t traced_peers = 0;      // peers being recorded (gauge)
  LoopLag loop_lag;                    // how late the event loop's 50 ms tick fired
};

// Renders every metric with HELP and TYPE lines; passes `promtool check metrics`. Per-peer
// series only for the first `peer_series_limit` listed peers (vigil_peers_without_series
// counts the others).
std::string RenderMetrics(const Node& node, const DaemonCounters& daemon, const SelfInfo& self,
                          Timestamp now, const LocalHealth* health = nullptr,
                          const SendLoad* send_load = nullptr,
                          std::size_t peer_series_limit = SIZE_MAX);

}  // namespace vigil
