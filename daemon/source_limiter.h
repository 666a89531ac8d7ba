// Per-source limit on processing: a source that keeps sending datagrams we reject is
// ignored for a while, so a flood costs a hash lookup per datagram instead of decoding and
// MAC verification.
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>

#include "detector/time.h"

namespace vigil {

// A source address as 16 bytes (IPv4 as v4-mapped IPv6).
using SourceKey = std::array<std::uint8_t, 16>;

struct SourceKeyHash {
  std::size_t operator()(const SourceKey& k) const {
    std::uint64_t a = 0, b = 0;
    for (int i = 0; i < 8; ++i) a = (a << 8) | k[static_cast<std::size_t>(i)];
    for (int i = 8; i < 16; ++i) b = (b << 8) | k[static_cast<std::size_t>(i)];
    return std::hash<std::uint64_t>{}(a ^ (b * 0x9E3779B97F4A7C15ULL));
  }
};

// A token bucket per source, charged only for rejected datagrams: legitimate peers, whose
// heartbeats are accepted, are never limited. Tracks at most `max_sources` sources; beyond
// that, new sources are not limited (never blocked by mistake). Not thread-safe.
class SourceLimiter {
 public:
  SourceLimiter(double rejects_per_second, std::size_t max_sources = 4096)
      : rate_(rejects_per_second), burst_(2 * rejects_per_second), max_sources_(max_sources) {}

  // True if datagrams from `source` are to be dropped unprocessed now.
  bool Blocked(const SourceKey& source, MonoTime now);
  // Records a rejected datagram from `source`.
  void Charge(const SourceKey& source, MonoTime now);

  void set_rate(double rejects_per_second) {
    rate_ = rejects_per_second;
    burst_ = 2 * rejects_per_second;
  }
  std::size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    MonoTime updated{};
  };
  void Refill(Bucket& b, MonoTime now) const;

  double rate_;
  double burst_;
  std::size_t max_sources_;
  std::unordered_map<SourceKey, Bucket, SourceKeyHash> buckets_;
};

}  // namespace vigil
