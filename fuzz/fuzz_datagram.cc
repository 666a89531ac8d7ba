// libFuzzer target: any bytes as a received datagram, through decoding, MAC verification,
// sequence and incarnation checks and the state machine of a Node with two peers; and
// through Node::Prefetch, then OnDatagram, of a Node large enough for Prefetch to work.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

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

// Enough peers (n2 and p0...) for Node::Prefetch to run its passes.
vigil::Node& TheLargeNode() {
  static vigil::Node large = [] {
    vigil::Config config = *vigil::LoadConfigString(
        "node:\n  id: me\npeers:\n  - id: n2\n    address: 10.0.0.2\n", "fuzz.yaml").config;
    for (std::size_t i = 0; i < vigil::Node::kPrefetchFromPeers; ++i) {
      vigil::PeerConfig p;
      p.id = "p" + std::to_string(i);
      p.address = vigil::Endpoint{"10.1.0.1", static_cast<std::uint16_t>(1024 + i % 60000),
                                  vigil::Endpoint::HostKind::kIPv4};
      config.peers.push_back(std::move(p));
    }
    return vigil::Node(config, {vigil::MonoTime{}, vigil::WallTime{}});
  }();
  return large;
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
  // The same bytes as a batch of up to 4 datagrams, cut at each 0xff byte: Prefetch looks
  // at all of them before each is judged, as vigild does with a received batch.
  std::array<std::span<const std::uint8_t>, 4> batch;
  std::size_t count = 0, start = 0;
  for (std::size_t i = 0; i <= size && count < batch.size(); ++i) {
    if (i == size || data[i] == 0xff) {
      batch[count++] = std::span<const std::uint8_t>(data + start, i - start);
      start = i + 1;
    }
  }
  vigil::Node& large = TheLargeNode();
  large.Prefetch(std::span(batch.data(), count));
  for (std::size_t i = 0; i < count; ++i) large.OnDatagram(batch[i], false, now);
  return 0;
}
