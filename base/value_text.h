// Values as people write them in vigil.yaml, --detector specs and flags: numbers, whole
// numbers and durations, each with its range, and the message that says what was expected.
// One parser for each, so a value means the same wherever it is written.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "base/time.h"

namespace vigil {

// The characters of a peer or node id (docs/protocol.md: `A-Za-z0-9._-`).
inline constexpr std::string_view kIdCharacters =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
// Whether `s` holds id characters only (true for "").
inline bool IsIdText(std::string_view s) {
  return s.find_first_not_of(kIdCharacters) == std::string_view::npos;
}

// A decimal number (optional sign, fraction, exponent) in (low, high], or [low, high] with
// `low_inclusive`. InvalidArgument: "expected a number, found 'x'" or "expected a number >
// 0 and <= 1000, found 2000".
Result<double> ParseNumberIn(std::string_view text, double low, double high,
                             bool low_inclusive);

// A decimal whole number in [low, high]. InvalidArgument: "expected a whole number, found
// 'x'" or "expected a whole number from 2 to 100000, found 1".
Result<std::int64_t> ParseWholeIn(std::string_view text, std::int64_t low, std::int64_t high);

// A duration ("250ms", "1.5s", "2m"), positive (or zero with `allow_zero`), and within
// [low, high] when high > 0. InvalidArgument: "expected a duration such as 250ms, 1.5s or
// 2m, found '5' (a duration needs a unit)", "expected a positive duration, found '-1s'",
// "expected a duration from 1s to 24h, found 25h".
Result<Duration> ParseDurationIn(std::string_view text, bool allow_zero,
                                 Duration low = Duration::zero(),
                                 Duration high = Duration::zero());

}  // namespace vigil
