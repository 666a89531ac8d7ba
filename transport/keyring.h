// Shared keys for authenticated heartbeats, and the MAC trailer of the wire format.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "transport/wire_format.h"

namespace vigil {

inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kSipHashKeySize = 16;

struct Key {
  std::array<std::uint8_t, kKeySize> bytes{};
  // The version 3 MAC's key, derived from `bytes` (docs/protocol.md): BLAKE2b-128 keyed
  // with `bytes` over "vigil siphash-2-4-128".
  std::array<std::uint8_t, kSipHashKeySize> siphash_key{};
  std::uint8_t id = 0;  // first byte of a BLAKE2b hash of the key: picks candidates quickly
};

// Keys one daemon accepts; the first is the primary, the one it signs with. Receivers accept
// any key in the ring, so keys rotate without downtime: add the new key everywhere, make it
// primary everywhere, remove the old one (docs/security.md).
class Keyring {
 public:
  // Parses a keyring file's text: one base64 key (32 bytes) per line; blank lines and lines
  // starting with '#' are ignored. On failure: InvalidArgument naming the line.
  static Result<Keyring> Parse(const std::string& text);

  // Reads and parses `path`. Refuses a file that other users can read or write (mode & 077),
  // or that is not a regular file, with a message saying how to fix it (IOError,
  // InvalidArgument).
  static Result<Keyring> Load(const std::string& path);

  const Key& primary() const { return keys_.front(); }
  const std::vector<Key>& keys() const { return keys_; }

 private:
  std::vector<Key> keys_;
};

// Initializes libsodium (idempotent, thread-safe). Returns false if it cannot.
bool InitCrypto();

// A new random key as base64 text.
std::string GenerateKeyBase64();

// Appends the authentication trailer (key id, tag over everything before the tag) to the
// message of `length` bytes in `buffer` and sets its "authenticated" flag; the message's
// version byte picks the MAC (3: SipHash-2-4-128, 1 and 2: keyed BLAKE2b-256). Returns the
// new length, or 0 if `buffer` is too small.
std::size_t Sign(std::span<std::uint8_t> buffer, std::size_t length, const Key& key);

enum class AuthResult : std::uint8_t { kOk, kUnknownKey, kBadTag };

// Checks the trailer of a decoded, authenticated datagram against the ring with its
// version's MAC (constant-time comparison). Requires message.authenticated.
AuthResult Verify(std::span<const std::uint8_t> datagram, const Message& message,
                  const Keyring& ring);

// Checks the trailer that ends `datagram` (a key id, then TagSize(version) bytes of tag over
// everything before the tag, as Sign appends it) against the ring with `version`'s MAC, in
// constant time. For any datagram Sign signed, heartbeats and membership datagrams alike.
// Requires datagram.size() >= AuthTrailerSize(version).
AuthResult VerifyTrailer(std::span<const std::uint8_t> datagram, std::uint8_t version,
                         const Keyring& ring);

}  // namespace vigil
