// The one membership file that links libsodium: its SipHash is a pure function (no
// sodium_init, no randomness), so the sans-I/O files may call it through ring_position.h.
#include "membership/ring_position.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cassert>

namespace vigil::membership {
namespace {

using RingKey = std::array<unsigned char, crypto_shorthash_siphash24_KEYBYTES>;

RingKey KeyOfRing(int ring) {
  static constexpr std::string_view kLabel = "vigil/ring/v1";
  static_assert(kLabel.size() + 3 == crypto_shorthash_siphash24_KEYBYTES);
  RingKey key{};
  std::copy(kLabel.begin(), kLabel.end(), key.begin());
  key.back() = static_cast<unsigned char>(ring);
  return key;
}

}  // namespace

std::uint64_t RingPosition(int ring, std::string_view id) {
  assert(ring >= 0 && ring < kMaxObservers);
  const RingKey key = KeyOfRing(ring);
  std::array<unsigned char, crypto_shorthash_siphash24_BYTES> out{};
  crypto_shorthash_siphash24(out.data(), reinterpret_cast<const unsigned char*>(id.data()),
                             id.size(), key.data());
  std::uint64_t position = 0;
  for (std::size_t i = out.size(); i-- > 0;) position = (position << 8) | out[i];
  return position;
}

}  // namespace vigil::membership
