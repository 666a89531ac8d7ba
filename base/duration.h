// Human durations: "250ms", "1.5s", "2m", "1m30s".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/time.h"

namespace vigil {

// Parses one or more <number><unit> groups, units ns, us, ms, s, m, h; decimals allowed
// ("1.5s"). Returns nullopt for anything else: a bare number, an unknown unit, a sign,
// or a value beyond ~292 years.
std::optional<Duration> ParseDuration(std::string_view text);

// The shortest exact rendering: "250ms", "1.5s", "2m", "90s".
std::string FormatDuration(Duration d);

// `seconds` (bounds in the settings tables are written in seconds) as a Duration,
// truncated to whole nanoseconds.
inline Duration DurationFromSeconds(double seconds) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

// T, or the T of a std::optional<T>: the value type of a setting that may be unset.
template <typename T>
struct OptionalValue {
  using type = T;
};
template <typename T>
struct OptionalValue<std::optional<T>> {
  using type = T;
};
template <typename T>
using OptionalValueT = typename OptionalValue<T>::type;

}  // namespace vigil
