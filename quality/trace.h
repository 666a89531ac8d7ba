// Heartbeat traces: what one peer's heartbeats did, one row per received heartbeat, in the
// CSV format of docs/tuning.md. Recorded by vigild, produced by the trace generator, read by
// `vigilctl replay` and `vigilctl tune`.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace vigil {

// The CSV header every trace starts with.
inline constexpr std::string_view kTraceHeader = "seq,send_ms,recv_ms";

struct TraceRow {
  std::uint64_t seq = 0;           // the heartbeat's sequence number (gaps: lost heartbeats)
  std::optional<double> send_ms;   // when it was sent, on the sender's clock; unknown if empty
  double recv_ms = 0;              // when it arrived, on the receiver's monotonic clock
};

struct Trace {
  std::vector<TraceRow> rows;  // in arrival order: recv_ms never decreases
};

struct TraceResult {
  std::optional<Trace> trace;
  std::string error;  // "NAME:LINE: what is wrong" when trace is empty
};

// Parses a trace. Fails (with the line) on a missing or different header, a row without
// exactly three fields, a field that is not a number (seq: a positive integer; times: a
// finite number), or recv_ms going backwards. Blank lines and a trailing newline are fine.
TraceResult ParseTrace(std::istream& in, const std::string& name);
TraceResult LoadTraceFile(const std::string& path);

// Formats one row (times with 3 decimals, send_ms empty when unknown), with a newline.
std::string FormatTraceRow(const TraceRow& row);

// Writes a whole trace, header first.
void WriteTrace(std::ostream& out, const Trace& trace);

}  // namespace vigil
