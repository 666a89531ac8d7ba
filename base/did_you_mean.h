// Suggestions for misspelt keys.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vigil {

// Levenshtein distance between two strings.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a plausible typo (distance at
// most a third of the word's length, at least 1, or a prefix); nullopt otherwise.
std::optional<std::string> DidYouMean(std::string_view word,
                                      std::span<const std::string_view> candidates);

}  // namespace vigil
