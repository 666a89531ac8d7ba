// GET /v1/peers with filters and paging: which peers, in which order, and where the next
// page starts. Pure: the query string and the Node in, the JSON text out, in pieces.
#pragma once

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

// The body of GET /v1/peers, {"peers": [...], "next_cursor": "..." | null}, written a piece
// at a time so that no body is ever built whole and no piece holds the event loop for long.
// The peers are those matching the query, in table order (listed peers in `peers:` order,
// then enrolled ones by arrival), after the cursor, at most `limit`. next_cursor is set when
// the page is full: passed back as ?cursor=, it continues after the last peer returned.
// Between pieces the table may change; each piece resumes after the last entry the previous
// one scanned, so a peer present throughout is returned exactly once however peers come
// and go, within one body as across pages (a reload that adds, removes or reorders entries
// of `peers:` aside: it numbers the listed peers anew).
// Not thread-safe; the Node must outlive the writer's use of it.
class PeerListWriter {
 public:
  explicit PeerListWriter(PeerQuery query);

  // Appends the next piece to `out`: the matches among at most `max_scan` table entries, at
  // most `max_peers` of them (the first piece opens the document, the last closes it).
  // Returns true once the body is complete; calls after that append nothing.
  bool WriteNext(const Node& node, Timestamp now, std::string& out,
                 std::size_t max_scan = kScanPerPiece, std::size_t max_peers = kPeersPerPiece);

  // About 120 KB of JSON and a few milliseconds of the loop per piece.
  static constexpr std::size_t kPeersPerPiece = 256;
  static constexpr std::size_t kScanPerPiece = 8192;

 private:
  PeerQuery query_;
  std::optional<std::uint64_t> resume_after_;  // the order of the last entry scanned
  std::optional<std::uint64_t> last_written_;  // the order of the last peer written
  std::size_t written_ = 0;
  bool started_ = false;
  bool done_ = false;
};

// The whole body at once (tests; small tables).
std::string PeersPageText(const Node& node, Timestamp now, const PeerQuery& query);

}  // namespace vigil
