#include "daemon/source_limiter.h"

#include <algorithm>

namespace vigil {

void SourceLimiter::Refill(Bucket& b, MonoTime now) const {
  if (now > b.updated) {
    b.tokens = std::min(burst_, b.tokens + rate_ * MillisBetween(b.updated, now) / 1000.0);
    b.updated = now;
  }
}

bool SourceLimiter::Blocked(const SourceKey& source, MonoTime now) {
  const auto it = buckets_.find(source);
  if (it == buckets_.end()) return false;
  Refill(it->second, now);
  return it->second.tokens < 1.0;
}

void SourceLimiter::Charge(const SourceKey& source, MonoTime now) {
  auto it = buckets_.find(source);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_sources_) {
      // Forget sources whose buckets have refilled: they are not misbehaving now.
      std::erase_if(buckets_, [&](const auto& kv) {
        Bucket b = kv.second;
        Refill(b, now);
        return b.tokens >= burst_;
      });
      if (buckets_.size() >= max_sources_) return;
    }
    it = buckets_.emplace(source, Bucket{burst_, now}).first;
  }
  Refill(it->second, now);
  it->second.tokens = std::max(0.0, it->second.tokens - 1.0);
}

}  // namespace vigil
