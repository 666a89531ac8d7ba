#include "daemon/peer_page.h"

#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "base/value_text.h"
#include "daemon/query_string.h"
#include "daemon/api_json.h"
#include "json/json_text.h"

namespace vigil {

namespace {

constexpr std::string_view kParameters = "state, prefix, not_seen_since, limit or cursor";

// A cursor is "p" and the order of the last peer returned, in hex: opaque to clients.
std::optional<std::uint64_t> ParseCursor(std::string_view text) {
  if (text.size() < 2 || text.front() != 'p') return std::nullopt;
  std::uint64_t order = 0;
  const auto [end, ec] = std::from_chars(text.data() + 1, text.data() + text.size(), order, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return order;
}

std::string CursorOf(std::uint64_t order) { return fmt::format("p{:x}", order); }

// Applies one "key=value" pair to `q`; the message on failure.
std::optional<std::string> Apply(std::string_view key, std::string_view value, PeerQuery& q) {
  if (key == "state") {
    q.state = ParsePeerState(value);
    if (!q.state) {
      return fmt::format("state: expected unknown, up, suspect, down or left, found '{}'", value);
    }
  } else if (key == "prefix") {
    return ParsePrefixParameter(value, q.prefix);
  } else if (key == "not_seen_since") {
    const auto ms = ParseWholeIn(value, 0, std::numeric_limits<std::int64_t>::max());
    if (!ms) return "not_seen_since: " + ms.message() + " (epoch milliseconds)";
    q.not_seen_since_ms = *ms;
  } else if (key == "limit") {
    return ParseLimitParameter(value, q.limit);
  } else if (key == "cursor") {
    q.after = ParseCursor(value);
    if (!q.after) return BadCursor(value);
  } else {
    return UnknownParameter(key, kParameters);
  }
  return std::nullopt;
}

bool Matches(const PeerRecord& p, const PeerQuery& q) {
  if (q.state && p.monitor.state() != *q.state) return false;
  if (!q.prefix.empty() && !p.id.starts_with(q.prefix)) return false;
  if (q.not_seen_since_ms) {
    const auto last = LastHeartbeatMillis(p);
    if (last && *last >= *q.not_seen_since_ms) return false;
  }
  return true;
}

}  // namespace

Result<PeerQuery> ParsePeerQuery(std::string_view query) {
  PeerQuery q;
  auto problem = ForEachQueryPair(
      query, [&](std::string_view key, std::string_view value) { return Apply(key, value, q); });
  if (problem) return Status::InvalidArgument(std::move(*problem));
  return q;
}

PeerListWriter::PeerListWriter(PeerQuery query)
    : query_(std::move(query)), resume_after_(query_.after) {}

bool PeerListWriter::WriteNext(const Node& node, Timestamp now, std::string& out,
                               std::size_t max_scan, std::size_t max_peers) {
  if (done_) return true;
  if (!started_) out += "{\"peers\":[";
  started_ = true;
  const auto& table = node.peers();
  std::size_t i = resume_after_ ? node.FirstAfter(*resume_after_) : 0;
  const auto full = [&] { return query_.limit != 0 && written_ == query_.limit; };
  for (std::size_t scanned = 0, emitted = 0;
       i < table.size() && scanned < max_scan && emitted < max_peers && !full();
       ++i, ++scanned) {
    resume_after_ = table[i].order;
    if (!Matches(table[i], query_)) continue;
    if (written_ > 0) out += ',';
    out += ToJsonText(PeerJson(table[i], now));
    last_written_ = table[i].order;
    ++written_;
    ++emitted;
  }
  if (i < table.size() && !full()) return false;  // more to scan: the next piece
  // More may follow only if the page filled before the end of the table.
  out += "],\"next_cursor\":";
  out += i < table.size() && last_written_ ? fmt::format("\"{}\"", CursorOf(*last_written_))
                                           : std::string("null");
  out += "}\n";
  done_ = true;
  return true;
}

std::string PeersPageText(const Node& node, Timestamp now, const PeerQuery& query) {
  PeerListWriter writer(query);
  std::string out;
  while (!writer.WriteNext(node, now, out)) {
  }
  return out;
}

}  // namespace vigil
