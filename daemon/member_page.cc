#include "daemon/member_page.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "base/value_text.h"
#include "daemon/query_string.h"
#include "daemon/cluster_json.h"
#include "json/json_text.h"

namespace vigil {
namespace {

constexpr std::string_view kParameters = "state, prefix, limit or cursor";

// A cursor is "m" and the id of the last member returned: opaque to clients.
std::optional<std::string> ParseCursor(std::string_view text) {
  if (text.size() < 2 || text.front() != 'm' || !IsIdText(text.substr(1))) return std::nullopt;
  return std::string(text.substr(1));
}

// Applies one "key=value" pair to `q`; the message on failure.
std::optional<std::string> Apply(std::string_view key, std::string_view value,
                                 MemberQuery& q) {
  if (key == "state") {
    q.state = membership::ParseMemberState(value);
    if (!q.state) {
      return fmt::format("state: expected up, suspect, down or left, found '{}'", value);
    }
  } else if (key == "prefix") {
    return ParsePrefixParameter(value, q.prefix);
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

}  // namespace

Result<MemberQuery> ParseMemberQuery(std::string_view query) {
  MemberQuery q;
  auto problem = ForEachQueryPair(
      query, [&](std::string_view key, std::string_view value) { return Apply(key, value, q); });
  if (problem) return Status::InvalidArgument(std::move(*problem));
  return q;
}

MemberListWriter::MemberListWriter(MemberQuery query, const ClusterMember& cluster)
    : query_(std::move(query)) {
  const membership::MembershipNode& member = cluster.member();
  const auto wanted = [&](const std::string& id) {
    return id.starts_with(query_.prefix) && (!query_.after || id > *query_.after);
  };
  // The view is sorted by id: its matches are one run, from the cursor or the prefix on.
  const auto view = member.view().members();
  const std::string_view from =
      query_.after && *query_.after > query_.prefix ? *query_.after : query_.prefix;
  std::vector<std::string> held;
  for (auto it = std::lower_bound(view.begin(), view.end(), from);
       it != view.end() && it->starts_with(query_.prefix); ++it) {
    if (wanted(*it)) held.push_back(*it);
  }
  std::vector<std::string> out;
  member.ForEachTakenOut([&](const std::string& id, std::uint64_t, bool) {
    if (wanted(id)) out.push_back(id);
  });
  std::sort(out.begin(), out.end());
  ids_.reserve(held.size() + out.size());
  std::merge(held.begin(), held.end(), out.begin(), out.end(), std::back_inserter(ids_));
  ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
}

bool MemberListWriter::WriteNext(const ClusterMember& cluster, Timestamp now,
                                 std::string& out, std::size_t max_members,
                                 std::size_t max_scan) {
  if (done_) return true;
  if (!started_) {
    // The cluster object, its closing brace replaced by the list.
    std::string head = ToJsonText(ClusterJson(cluster, now.mono));
    head.pop_back();
    out += head;
    out += ",\"list\":[";
    started_ = true;
  }
  const auto full = [&] { return query_.limit != 0 && written_ == query_.limit; };
  for (std::size_t emitted = 0, scanned = 0;
       next_ < ids_.size() && emitted < max_members && scanned < max_scan && !full();
       ++next_, ++scanned) {
    const std::string& id = ids_[next_];
    const auto status = cluster.member().StatusOf(id);
    if (!status || (query_.state && status->state != *query_.state)) continue;
    if (written_ > 0) out += ',';
    out += ToJsonText(MemberJson(cluster, id, *status, now));
    last_written_ = id;
    ++written_;
    ++emitted;
  }
  if (next_ < ids_.size() && !full()) return false;  // more to write: the next piece
  out += "],\"next_cursor\":";
  out += next_ < ids_.size() && last_written_ ? fmt::format("\"m{}\"", *last_written_)
                                              : std::string("null");
  out += "}\n";
  done_ = true;
  return true;
}

ApiResponse MembersResponse(const ClusterMember& cluster, std::string_view query,
                            std::function<Timestamp()> clock) {
  const auto parsed = ParseMemberQuery(query);
  if (!parsed) return ErrorResponse(400, parsed.message());
  ApiResponse r;
  auto writer = std::make_shared<MemberListWriter>(*parsed, cluster);
  r.next_piece = [writer, &cluster, clock = std::move(clock)](std::string& out) {
    return writer->WriteNext(cluster, clock(), out);
  };
  return r;
}

std::string MembersPageText(const ClusterMember& cluster, Timestamp now,
                            const MemberQuery& query) {
  MemberListWriter writer(query, cluster);
  std::string out;
  while (!writer.WriteNext(cluster, now, out)) {
  }
  return out;
}

}  // namespace vigil
