#include "daemon/failpoint.h"

#include <cstdlib>
#include <set>
#include <string>

namespace vigil {

bool FailpointActive(std::string_view name) {
  static const std::set<std::string, std::less<>> active = [] {
    std::set<std::string, std::less<>> names;
    const char* env = std::getenv("VIGIL_FAILPOINT");
    std::string_view list = env ? env : "";
    while (!list.empty()) {
      const auto comma = list.find(',');
      const auto item = list.substr(0, comma);
      if (!item.empty()) names.emplace(item);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    return names;
  }();
  return active.find(name) != active.end();
}

}  // namespace vigil
