// Human renderings for vigilctl: "3s ago", local times, aligned tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil {

// An age in milliseconds as "now" (< 1 s), "3s ago", "12m ago", "2h ago", "4d ago"; an
// age below zero (a clock that went back) is shown as "now", never as negative.
std::string FormatAgo(std::int64_t age_ms);

// Epoch milliseconds as local "YYYY-MM-DD HH:MM:SS".
std::string FormatLocalTime(std::int64_t epoch_ms);

// Left-aligned columns separated by two spaces; the first row is the header.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace vigil
