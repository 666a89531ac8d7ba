#include "daemon/query_string.h"

#include <fmt/format.h>

#include "base/value_text.h"

namespace vigil {

std::optional<std::string> ParsePrefixParameter(std::string_view value, std::string& prefix) {
  if (!IsIdText(value)) {
    return fmt::format(
        "prefix: expected id characters (letters, digits, '.', '_', '-'), found '{}'", value);
  }
  prefix = std::string(value);
  return std::nullopt;
}

std::optional<std::string> ParseLimitParameter(std::string_view value, std::size_t& limit) {
  const auto parsed = ParseWholeIn(value, 1, 100000);
  if (!parsed) return "limit: " + parsed.message();
  limit = static_cast<std::size_t>(*parsed);
  return std::nullopt;
}

std::string BadCursor(std::string_view value) {
  return fmt::format("cursor: not a cursor this API returned: '{}'", value);
}

std::string UnknownParameter(std::string_view key, std::string_view expected) {
  return fmt::format("unknown query parameter '{}'; expected {}", key, expected);
}

}  // namespace vigil
