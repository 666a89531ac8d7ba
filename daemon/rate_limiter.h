// Keeps per-source log lines to one every few seconds, with bounded memory.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "base/time.h"

namespace vigil {

// Allow(key, now) is true at most once per `window` per key. Tracks at most `max_keys`
// keys; beyond that, keys are forgotten wholesale once their windows have passed, and new
// keys share one overflow slot meanwhile, so a flood from many sources stays quiet too.
class LogRateLimiter {
 public:
  LogRateLimiter(Duration window, std::size_t max_keys) : window_(window), max_keys_(max_keys) {}

  // Returns true if a line for `key` may be logged now; *suppressed receives how many were
  // held back for it since the last allowed one.
  // Allocates only when a new key is tracked (at most max_keys of them).
  bool Allow(std::string_view key, MonoTime now, std::uint64_t* suppressed);

 private:
  struct Slot {
    MonoTime last{};
    std::uint64_t suppressed = 0;
  };
  Duration window_;
  std::size_t max_keys_;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Slot, Hash, std::equal_to<>> slots_;
  Slot overflow_;
};

}  // namespace vigil
