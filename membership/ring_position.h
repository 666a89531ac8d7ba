// Where a member stands on each of the hashed rings that choose its observers.
#pragma once

#include <cstdint>
#include <string_view>

namespace vigil::membership {

// The most observers a member may have: a vote is one bit of a 64-bit mask (CutDetector).
inline constexpr int kMaxObservers = 64;

// The place of `id` on ring `ring`: SipHash-2-4 of the id's bytes under the 16-byte key
// "vigil/ring/v1" + two zero bytes + the ring number as one byte, read as a little-endian
// 64-bit integer. Part of the protocol: every node must compute the same value
// (docs/membership.md gives test vectors). A pure function; thread-safe.
// Requires 0 <= ring < kMaxObservers.
std::uint64_t RingPosition(int ring, std::string_view id);

// The bucket of `id` in a member listing (Pull, Census): the top byte of its ring-0
// position, so that a graph's members of a bucket range lie together on ring 0.
inline std::uint8_t BucketOf(std::string_view id) {
  return static_cast<std::uint8_t>(RingPosition(0, id) >> 56);
}

}  // namespace vigil::membership
