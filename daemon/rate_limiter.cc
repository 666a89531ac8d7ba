#include "daemon/rate_limiter.h"

namespace vigil {

bool LogRateLimiter::Allow(std::string_view key, MonoTime now, std::uint64_t* suppressed) {
  auto it = slots_.find(key);
  if (it == slots_.end()) {
    if (slots_.size() >= max_keys_) {
      std::erase_if(slots_, [&](const auto& kv) { return now - kv.second.last >= window_; });
    }
    if (slots_.size() >= max_keys_) {
      Slot& s = overflow_;
      if (s.last != MonoTime{} && now - s.last < window_) {
        ++s.suppressed;
        return false;
      }
      *suppressed = s.suppressed;
      s = {now, 0};
      return true;
    }
    slots_.emplace(key, Slot{now, 0});
    *suppressed = 0;
    return true;
  }
  Slot& s = it->second;
  if (now - s.last < window_) {
    ++s.suppressed;
    return false;
  }
  *suppressed = s.suppressed;
  s = {now, 0};
  return true;
}

}  // namespace vigil
