#include "base/duration.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

namespace vigil {
namespace {

std::optional<double> UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1.0;
  if (unit == "us" || unit == "\xC2\xB5s") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "m") return 60e9;
  if (unit == "h") return 3600e9;
  return std::nullopt;
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t number_start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == number_start) return std::nullopt;
    const std::string number(text.substr(number_start, i - number_start));
    if (number.front() == '.' || number.back() == '.' ||
        number.find('.') != number.rfind('.')) {
      return std::nullopt;
    }
    const std::size_t unit_start = i;
    while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') ++i;
    const auto scale = UnitNanos(text.substr(unit_start, i - unit_start));
    if (!scale) return std::nullopt;
    total += std::stod(number) * *scale;
  }
  if (!(total < static_cast<double>(std::numeric_limits<std::int64_t>::max()))) return std::nullopt;
  return Duration(static_cast<std::int64_t>(std::llround(total)));
}

std::string FormatDuration(Duration d) {
  const std::int64_t ns = d.count();
  struct Unit {
    std::int64_t nanos;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{3600'000'000'000, "h"}, {60'000'000'000, "m"},
                                    {1'000'000'000, "s"},    {1'000'000, "ms"},
                                    {1'000, "us"},           {1, "ns"}};
  if (ns == 0) return "0s";
  for (const auto& u : kUnits) {
    if (ns % u.nanos == 0) return fmt::format("{}{}", ns / u.nanos, u.name);
  }
  return fmt::format("{}ns", ns);
}

}  // namespace vigil
