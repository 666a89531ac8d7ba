#include "quality/trace.h"

#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <istream>
#include <ostream>
#include <string_view>

#include <fmt/format.h>

namespace vigil {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

bool ParseDouble(std::string_view s, double& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(out);
}

}  // namespace

TraceResult ParseTrace(std::istream& in, const std::string& name) {
  TraceResult result;
  auto fail = [&](std::size_t line, const std::string& what) {
    result.error = fmt::format("{}:{}: {}", name, line, what);
    result.trace.reset();
    return result;
  };
  Trace trace;
  std::string text;
  std::size_t line = 0;
  bool header = false;
  while (std::getline(in, text)) {
    ++line;
    const std::string_view row = Trim(text);
    if (row.empty()) continue;
    if (!header) {
      if (row != kTraceHeader) {
        return fail(line, fmt::format("expected the header '{}', found '{}'", kTraceHeader, row));
      }
      header = true;
      continue;
    }
    std::string_view fields[3];
    std::size_t n = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= row.size(); ++i) {
      if (i == row.size() || row[i] == ',') {
        if (n == 3) return fail(line, "expected 3 fields (seq,send_ms,recv_ms), found more");
        fields[n++] = Trim(row.substr(start, i - start));
        start = i + 1;
      }
    }
    if (n != 3) return fail(line, fmt::format("expected 3 fields (seq,send_ms,recv_ms), found {}", n));
    TraceRow r;
    const auto [end, ec] =
        std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), r.seq);
    if (ec != std::errc() || end != fields[0].data() + fields[0].size() || r.seq == 0) {
      return fail(line, fmt::format("seq: expected a positive integer, found '{}'", fields[0]));
    }
    if (!fields[1].empty()) {
      double send = 0;
      if (!ParseDouble(fields[1], send)) {
        return fail(line, fmt::format("send_ms: expected a number or nothing, found '{}'", fields[1]));
      }
      r.send_ms = send;
    }
    if (!ParseDouble(fields[2], r.recv_ms)) {
      return fail(line, fmt::format("recv_ms: expected a number, found '{}'", fields[2]));
    }
    if (!trace.rows.empty() && r.recv_ms < trace.rows.back().recv_ms) {
      return fail(line, fmt::format("recv_ms goes backwards ({} after {}): rows must be in "
                                    "arrival order",
                                    r.recv_ms, trace.rows.back().recv_ms));
    }
    trace.rows.push_back(r);
  }
  if (in.bad()) return fail(line, "read error");
  if (!header) return fail(line, fmt::format("empty: expected the header '{}'", kTraceHeader));
  result.trace = std::move(trace);
  return result;
}

TraceResult LoadTraceFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    TraceResult r;
    r.error = fmt::format("{}: cannot open: {}", path, std::strerror(errno));
    return r;
  }
  return ParseTrace(in, path);
}

std::string FormatTraceRow(const TraceRow& row) {
  if (row.send_ms) return fmt::format("{},{:.3f},{:.3f}\n", row.seq, *row.send_ms, row.recv_ms);
  return fmt::format("{},,{:.3f}\n", row.seq, row.recv_ms);
}

void WriteTrace(std::ostream& out, const Trace& trace) {
  out << kTraceHeader << '\n';
  for (const auto& r : trace.rows) out << FormatTraceRow(r);
}

}  // namespace vigil
