// Mix64: the finalizer of splitmix64 (Steele, Lea & Flood, 2014), which spreads every bit of
// its input over the whole output. Used for this node's random draws (NextRandom) and to
// combine the fields of a report into its fingerprint. Not a protocol value: nothing that
// crosses the wire depends on it. A pure function; thread-safe.
#pragma once

#include <cstdint>

namespace vigil::membership {

inline std::uint64_t Mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace vigil::membership
