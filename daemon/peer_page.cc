#include "daemon/peer_page.h"

#include <boost/json/array.hpp>

#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "base/value_text.h"
#include "daemon/api_json.h"

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
    if (value.find_first_not_of(kIdCharacters) != std::string_view::npos) {
      return fmt::format("prefix: expected id characters (letters, digits, '.', '_', '-'), found '{}'",
                         value);
    }
    q.prefix = std::string(value);
  } else if (key == "not_seen_since") {
    const auto ms = ParseWholeIn(value, 0, std::numeric_limits<std::int64_t>::max());
    if (!ms) return "not_seen_since: " + ms.message() + " (epoch milliseconds)";
    q.not_seen_since_ms = *ms;
  } else if (key == "limit") {
    const auto limit = ParseWholeIn(value, 1, 100000);
    if (!limit) return "limit: " + limit.message();
    q.limit = static_cast<std::size_t>(*limit);
  } else if (key == "cursor") {
    q.after = ParseCursor(value);
    if (!q.after) return fmt::format("cursor: not a cursor this API returned: '{}'", value);
  } else {
    return fmt::format("unknown query parameter '{}'; expected {}", key, kParameters);
  }
  return std::nullopt;
}

bool Matches(const PeerRecord& p, const PeerQuery& q) {
  if (q.state && p.monitor.state() != *q.state) return false;
  if (!q.prefix.empty() && !p.id.starts_with(q.prefix)) return false;
  if (q.not_seen_since_ms) {
    std::optional<std::int64_t> last;
    if (p.last_heartbeat_wall) {
      last = EpochMillis(*p.last_heartbeat_wall);
    } else if (p.previous) {
      last = p.previous->last_heartbeat_ms;
    }
    if (last && *last >= *q.not_seen_since_ms) return false;
  }
  return true;
}

}  // namespace

Result<PeerQuery> ParsePeerQuery(std::string_view query) {
  PeerQuery q;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (auto problem = Apply(key, value, q)) return Status::InvalidArgument(std::move(*problem));
  }
  return q;
}

boost::json::object PeersPageJson(const Node& node, Timestamp now, const PeerQuery& query) {
  boost::json::array peers;
  const auto& table = node.peers();
  std::optional<std::uint64_t> last;
  std::size_t i = query.after ? node.FirstAfter(*query.after) : 0;
  for (; i < table.size(); ++i) {
    if (query.limit && peers.size() == query.limit) break;
    if (!Matches(table[i], query)) continue;
    peers.push_back(PeerJson(table[i], now));
    last = table[i].order;
  }
  boost::json::object o;
  o["peers"] = std::move(peers);
  // More may follow only if the page filled before the end of the table.
  o["next_cursor"] = (query.limit && i < table.size() && last)
                         ? boost::json::value(CursorOf(*last))
                         : boost::json::value(nullptr);
  return o;
}

}  // namespace vigil
