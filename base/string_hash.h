// A transparent hash for maps keyed by std::string: looked up with a std::string_view, no
// string is made (std::unordered_map<std::string, V, StringHash, std::equal_to<>>).
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace vigil {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace vigil
