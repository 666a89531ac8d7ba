// GET /v1/peers with filters and paging: which peers, in which order, and where the next
// page starts. Pure: the query string and the Node in, a JSON document out.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "daemon/node.h"

namespace vigil {

struct PeerQuery {
  std::optional<PeerState> state;                 // ?state=down
  std::string prefix;                             // ?prefix=user- (ids starting with it)
  std::optional<std::int64_t> not_seen_since_ms;  // ?not_seen_since=EPOCH_MS: last heartbeat
                                                  // before it, or never
  std::size_t limit = 0;                          // ?limit=N, 1–100000; 0: every match
  std::optional<std::uint64_t> after;             // ?cursor=: where the previous page ended
};

// Parses a query string such as "state=down&limit=500". On failure InvalidArgument naming
// the parameter ("limit: expected a whole number from 1 to 100000, found 0", "unknown query
// parameter 'x'; ...").
Result<PeerQuery> ParsePeerQuery(std::string_view query);

// {"peers": [...], "next_cursor": "..." | null}: the peers matching `query`, in table order
// (listed peers in `peers:` order, then enrolled ones by arrival), after the cursor, at most
// `limit`. next_cursor is set when the page is full: passed back as ?cursor=, it continues
// after the last peer returned, so a peer present throughout is returned exactly once
// however peers come and go between pages (a reload that reorders `peers:` aside).
boost::json::object PeersPageJson(const Node& node, Timestamp now, const PeerQuery& query);

}  // namespace vigil
