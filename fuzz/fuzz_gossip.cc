// libFuzzer target: any bytes as a received membership datagram (docs/membership.md,
// "Messages"): decoded with and without a keyring, strict and lax. Whatever decodes must
// survive a round trip: encoded again (signed) and decoded, it says the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "membership/gossip_wire.h"

namespace {

// The key of docs/membership.md's example (bytes 0..31), so that the seeds in
// fuzz/corpus/gossip, signed with it, reach the verified path.
const vigil::Keyring& Ring() {
  static const vigil::Keyring ring =
      *vigil::Keyring::Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  return ring;
}

void CheckRoundTrip(const vigil::membership::MembershipDatagram& d) {
  using namespace vigil::membership;
  auto encoded = EncodeGossip(d.gossip, d.header, &Ring().primary());
  if (!encoded) std::abort();  // it decoded, so the format can carry it
  Gossip back;
  for (const auto& bytes : *encoded) {
    MembershipDatagram again;
    GossipReject why{};
    if (!DecodeGossip(bytes, &Ring(), true, &again, &why)) std::abort();
    if (again.header.sender != d.header.sender || again.header.echo != d.header.echo) {
      std::abort();
    }
    back.Append(again.gossip);
  }
  if (!(back == d.gossip)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vigil::membership;
  const std::span<const std::uint8_t> bytes(data, size);
  for (const vigil::Keyring* ring : {&Ring(), static_cast<const vigil::Keyring*>(nullptr)}) {
    for (bool require_auth : {false, true}) {
      MembershipDatagram d;
      GossipReject why = GossipReject::kCount;
      if (DecodeGossip(bytes, ring, require_auth, &d, &why)) {
        CheckRoundTrip(d);
      } else if (why >= GossipReject::kCount) {
        std::abort();  // a rejection must say why
      }
    }
  }
  return 0;
}
