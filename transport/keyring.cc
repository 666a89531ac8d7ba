#include "transport/keyring.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace vigil {

bool InitCrypto() { return sodium_init() >= 0; }

namespace {

std::uint8_t KeyId(const std::array<std::uint8_t, kKeySize>& key) {
  std::array<std::uint8_t, 16> hash{};
  crypto_generichash(hash.data(), hash.size(), key.data(), key.size(), nullptr, 0);
  return hash[0];
}

// The version 3 MAC key: a domain-separated derivation, so the SipHash key reveals nothing
// of the BLAKE2b one and the two MACs never share a key.
std::array<std::uint8_t, kSipHashKeySize> DeriveSipHashKey(
    const std::array<std::uint8_t, kKeySize>& key) {
  static constexpr std::string_view kLabel = "vigil siphash-2-4-128";
  std::array<std::uint8_t, kSipHashKeySize> out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(kLabel.data()),
                     kLabel.size(), key.data(), key.size());
  return out;
}

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

Result<Keyring> Keyring::Parse(const std::string& text) {
  if (!InitCrypto()) {
    return Status::IOError("libsodium failed to initialize");
  }
  Keyring ring;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string t = Trim(line);
    if (t.empty() || t.front() == '#') continue;
    Key key;
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(key.bytes.data(), key.bytes.size(), t.data(), t.size(), nullptr, &len,
                          &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != t.data() + t.size()) {
      return Status::InvalidArgument("line " + std::to_string(number) +
                                     ": not a base64 key (make one with `vigilctl keygen`)");
    }
    if (len != kKeySize) {
      return Status::InvalidArgument("line " + std::to_string(number) +
                                     ": a key must be 32 bytes, this one is " +
                                     std::to_string(len));
    }
    key.id = KeyId(key.bytes);
    key.siphash_key = DeriveSipHashKey(key.bytes);
    ring.keys_.push_back(key);
  }
  if (ring.keys_.empty()) {
    return Status::InvalidArgument("no key in the keyring");
  }
  return ring;
}

Result<Keyring> Keyring::Load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IOError("cannot read keyring " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("keyring " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidArgument("keyring " + path + " is accessible to other users (mode " +
                                   mode + "); refusing to use it: chmod 600 " + path);
  }
  std::ifstream in(path);
  if (!in) {
    return Status::IOError("cannot read keyring " + path + ": " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto ring = Parse(text.str());
  if (!ring) return Status::InvalidArgument("keyring " + path + ": " + ring.message());
  return ring;
}

std::string GenerateKeyBase64() {
  InitCrypto();
  std::array<std::uint8_t, kKeySize> key{};
  randombytes_buf(key.data(), key.size());
  std::array<char, sodium_base64_ENCODED_LEN(kKeySize, sodium_base64_VARIANT_ORIGINAL)> out{};
  sodium_bin2base64(out.data(), out.size(), key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  sodium_memzero(key.data(), key.size());
  return out.data();
}

namespace {

// The tag of `length` bytes at `data` in the MAC of `version`, into `tag` (TagSize(version)).
void ComputeTag(std::uint8_t version, const std::uint8_t* data, std::size_t length,
                const Key& key, std::uint8_t* tag) {
  if (version >= kWireVersion) {
    // SipHash-2-4 with a 128-bit output: a PRF made for short inputs, more than ten times
    // cheaper than keyed BLAKE2b on a heartbeat (docs/benchmarks.md).
    crypto_shorthash_siphashx24(tag, data, length, key.siphash_key.data());
  } else {
    // Keyed BLAKE2b-256: a MAC (libsodium documents crypto_generichash with a key as such).
    crypto_generichash(tag, kTagSizeBlake2b, data, length, key.bytes.data(), key.bytes.size());
  }
}

}  // namespace

std::size_t Sign(std::span<std::uint8_t> buffer, std::size_t length, const Key& key) {
  if (length < kHeaderSizeV1 || buffer.size() < length) return 0;
  const std::uint8_t version = buffer[2];
  if (buffer.size() < length + AuthTrailerSize(version)) return 0;
  buffer[4] |= kFlagAuthenticated;
  buffer[length] = key.id;
  ComputeTag(version, buffer.data(), length + 1, key, buffer.data() + length + 1);
  return length + AuthTrailerSize(version);
}

AuthResult VerifyTrailer(std::span<const std::uint8_t> datagram, std::uint8_t version,
                         const Keyring& ring) {
  const std::size_t tag_size = TagSize(version);
  const std::size_t signed_length = datagram.size() - tag_size;
  const std::uint8_t key_id = datagram[signed_length - 1];
  const std::uint8_t* tag = datagram.data() + signed_length;
  bool known = false;
  for (const Key& key : ring.keys()) {
    if (key.id != key_id) continue;
    known = true;
    std::array<std::uint8_t, kTagSizeBlake2b> expected{};
    ComputeTag(version, datagram.data(), signed_length, key, expected.data());
    const bool equal = tag_size == kTagSizeSipHash  // both constant time
                           ? crypto_verify_16(expected.data(), tag) == 0
                           : crypto_verify_32(expected.data(), tag) == 0;
    if (equal) return AuthResult::kOk;
  }
  return known ? AuthResult::kBadTag : AuthResult::kUnknownKey;
}

AuthResult Verify(std::span<const std::uint8_t> datagram, const Message& message,
                  const Keyring& ring) {
  // Decode put the trailer last: the key id, then the tag.
  return VerifyTrailer(datagram, message.version, ring);
}

}  // namespace vigil
