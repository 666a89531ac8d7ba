// The query strings of the API ("state=down&limit=500"): each key=value pair in turn.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

// Calls apply(key, value) for each non-empty pair of `query`, in order (a key alone has an
// empty value), until one returns a message (std::optional<std::string>); returns that
// message, or nullopt if every pair applied. Values are taken as they are (no %-decoding).
template <typename Apply>
std::optional<std::string> ForEachQueryPair(std::string_view query, Apply&& apply) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (auto problem = apply(pair.substr(0, eq), value)) return problem;
  }
  return std::nullopt;
}

// The parameters the paged lists share, each setting its output or returning the message
// that names it: prefix= (id characters only), limit= (1–100000).
std::optional<std::string> ParsePrefixParameter(std::string_view value, std::string& prefix);
std::optional<std::string> ParseLimitParameter(std::string_view value, std::size_t& limit);
// The messages for a cursor=`value` this API did not return, and for a parameter `key` that
// is none of `expected` ("state, prefix, limit or cursor").
std::string BadCursor(std::string_view value);
std::string UnknownParameter(std::string_view key, std::string_view expected);

}  // namespace vigil
