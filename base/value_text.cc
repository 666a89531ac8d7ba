#include "base/value_text.h"

#include <charconv>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "base/duration.h"

namespace vigil {

namespace {

// std::from_chars without a leading '+', which people (and YAML) write.
template <typename T>
bool FromChars(std::string_view text, T& out) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text.front() == '-') return false;  // "+-8"
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<double> ParseNumberIn(std::string_view text, double low, double high,
                             bool low_inclusive) {
  double v = 0;
  if (!FromChars(text, v) || std::isnan(v)) {
    return Status::InvalidArgument(fmt::format("expected a number, found '{}'", text));
  }
  if ((low_inclusive ? v < low : v <= low) || v > high) {
    return Status::InvalidArgument(fmt::format("expected a number {} {} and <= {}, found {}",
                                               low_inclusive ? ">=" : ">", low, high, text));
  }
  return v;
}

Result<std::int64_t> ParseWholeIn(std::string_view text, std::int64_t low, std::int64_t high) {
  std::int64_t v = 0;
  if (!FromChars(text, v)) {
    return Status::InvalidArgument(fmt::format("expected a whole number, found '{}'", text));
  }
  // "010" is 10 here but 8 to YAML 1.1 and C: refuse rather than guess.
  const std::string_view digits = text.substr(text.find_first_of("0123456789"));
  if (digits.size() > 1 && digits.front() == '0') {
    return Status::InvalidArgument(
        fmt::format("expected a whole number without leading zeros, found '{}'", text));
  }
  if (v < low || v > high) {
    return Status::InvalidArgument(
        fmt::format("expected a whole number from {} to {}, found {}", low, high, v));
  }
  return v;
}

Result<Duration> ParseDurationIn(std::string_view text, bool allow_zero, Duration low,
                                 Duration high) {
  const auto d = ParseDuration(text);
  if (!d) {
    const bool bare_number = text.find_first_not_of("0123456789.") == std::string_view::npos;
    return Status::InvalidArgument(
        fmt::format("expected a duration such as 250ms, 1.5s or 2m, found '{}'{}", text,
                    bare_number ? " (a duration needs a unit)" : ""));
  }
  if (*d < Duration::zero() || (!allow_zero && *d == Duration::zero())) {
    return Status::InvalidArgument(fmt::format("expected a positive duration, found '{}'", text));
  }
  if (high > Duration::zero() && (*d < low || *d > high)) {
    return Status::InvalidArgument(fmt::format("expected a duration from {} to {}, found {}",
                                               FormatDuration(low), FormatDuration(high),
                                               FormatDuration(*d)));
  }
  return *d;
}

}  // namespace vigil
