// libFuzzer target: any bytes as a received datagram, through decoding, MAC verification,
// sequence and incarnation checks and the state machine of a Node with two peers.
#include <cstddef>
#include <cstdint>
#include <span>

#include "daemon/node.h"
#include "transport/keyring.h"

namespace {

vigil::Node& TheNode(bool require_auth) {
  static vigil::Config config = [] {
    auto r = vigil::LoadConfigString(
        "node:\n  id: me\npeers:\n  - id: n2\n    address: 10.0.0.2\n  - id: n3\n    address: "
        "10.0.0.3\n    detector:\n      kind: timeout\n      timeout: 100ms\n",
        "fuzz.yaml");
    return *r.config;
  }();
  // A fixed key so that seeds signed with it (fuzz/corpus) reach the verified path.
  static vigil::Keyring ring = [] {
    return *vigil::Keyring::Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  }();
  static vigil::Node strict(config, {vigil::MonoTime{}, vigil::WallTime{}});
  static vigil::Node lax(config, {vigil::MonoTime{}, vigil::WallTime{}});
  static bool init = [] {
    strict.SetAuthentication(ring, true);
    lax.SetAuthentication(std::nullopt, false);
    return true;
  }();
  (void)init;
  return require_auth ? strict : lax;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::int64_t clock_ms = 0;
  clock_ms += 7;
  const vigil::Timestamp now{vigil::MonoTime{} + std::chrono::milliseconds(clock_ms),
                             vigil::WallTime{}};
  for (bool strict : {false, true}) {
    vigil::Node& node = TheNode(strict);
    node.OnDatagram(std::span<const std::uint8_t>(data, size), false, now);
    node.RunDue(now);
  }
  return 0;
}
