// GET /v1/members with filters and paging (docs/api.md): which members, in which order, and
// where the next page starts. Pure: the query string and the ClusterMember in, the JSON text
// out, in pieces.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "daemon/api_router.h"
#include "daemon/clock.h"
#include "daemon/cluster_member.h"
#include "membership/member_status.h"

namespace vigil {

struct MemberQuery {
  std::optional<membership::MemberState> state;  // ?state=suspect
  std::string prefix;                            // ?prefix=web- (ids starting with it)
  std::size_t limit = 0;                         // ?limit=N, 1–100000; 0: every match
  std::optional<std::string> after;              // ?cursor=: the id the last page ended at
};

// Parses a query string such as "state=down&limit=500". On failure InvalidArgument naming
// the parameter, as ParsePeerQuery does.
Result<MemberQuery> ParseMemberQuery(std::string_view query);

// The body of GET /v1/members: the cluster object (ClusterJson), then "list": the members
// held or remembered as taken out that match the query, sorted by id, after the cursor, at
// most `limit`; then "next_cursor", set when the page is full. The ids are taken when the
// writer is made (cost: the matching ids of the view, which is sorted, and a sort of the
// matching members taken out); each entry is written as it is when its piece is (a member
// gone by then, neither held nor remembered, is skipped; one whose state no longer matches
// too), so a member present throughout is listed once, and pages continue in id order
// whatever comes and goes. Not thread-safe; the ClusterMember must outlive the writer's use
// of it.
class MemberListWriter {
 public:
  MemberListWriter(MemberQuery query, const ClusterMember& cluster);

  // Appends the next piece to `out`: at most `max_members` entries, of at most `max_scan`
  // ids looked at (the first piece opens the document, the last closes it). Returns true
  // once the body is complete.
  bool WriteNext(const ClusterMember& cluster, Timestamp now, std::string& out,
                 std::size_t max_members = kMembersPerPiece,
                 std::size_t max_scan = kScanPerPiece);

  static constexpr std::size_t kMembersPerPiece = 256;
  static constexpr std::size_t kScanPerPiece = 8192;

 private:
  MemberQuery query_;
  std::vector<std::string> ids_;  // to list, sorted
  std::size_t next_ = 0;          // in ids_
  std::optional<std::string> last_written_;
  std::size_t written_ = 0;
  bool started_ = false;
  bool done_ = false;
};

// GET /v1/members for `query`: 400 for a bad parameter, else the body streamed by a
// MemberListWriter (ApiResponse::next_piece), read at the time `clock` gives for each piece.
// `cluster` must outlive the response.
ApiResponse MembersResponse(const ClusterMember& cluster, std::string_view query,
                            std::function<Timestamp()> clock);

// The whole body at once (tests; small clusters).
std::string MembersPageText(const ClusterMember& cluster, Timestamp now,
                            const MemberQuery& query);

}  // namespace vigil
