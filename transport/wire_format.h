// The heartbeat wire format, versions 1, 2 and 3. docs/protocol.md is the normative
// description.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace vigil {

enum class MessageType : std::uint8_t { kHeartbeat = 1, kLeave = 2 };

// Layout of versions 2 and 3 (all integers big-endian):
//   0  2  magic 0x56 0x47 ("VG")
//   2  1  version (3; 2 to a peer that last sent version 1 or 2)
//   3  1  type (1 heartbeat, 2 leave)
//   4  1  flags (bit 0: an authentication trailer follows the sender id; others zero)
//   5  1  sender id length N (1..64)
//   6  2  reserved, zero
//   8  8  incarnation (the sender's start; a restart raises it)
//  16  8  sequence number (per incarnation and round: every peer gets the same one)
//  24  4  the sender's heartbeat interval in microseconds (> 0)
//  28  8  the sender's monotonic send time in microseconds (only differences matter)
//  36  8  echo: the receiver's incarnation as the sender last heard it (0: not yet)
//  44  N  sender id: letters, digits, '.', '_', '-'
//  44+N   if flag bit 0: key id (1 byte) and a tag over everything before it: 16 bytes of
//         SipHash-2-4-128 in version 3, 32 bytes of keyed BLAKE2b in versions 1 and 2
// Version 1 is version 2 without the echo field (the id starts at 36). Both are accepted.
inline constexpr std::uint8_t kMagic0 = 0x56;
inline constexpr std::uint8_t kMagic1 = 0x47;
inline constexpr std::uint8_t kWireVersion = 3;  // what vigild sends unless a peer is older
inline constexpr std::uint8_t kWireVersion2 = 2;
inline constexpr std::uint8_t kWireVersion1 = 1;
inline constexpr std::size_t kHeaderSizeV1 = 36;
inline constexpr std::size_t kHeaderSize = 44;
inline constexpr std::size_t kMaxSenderIdSize = 64;
inline constexpr std::size_t kTagSizeBlake2b = 32;  // versions 1 and 2
inline constexpr std::size_t kTagSizeSipHash = 16;  // version 3
// The largest datagram of any version: a version 2 one with the longer tag.
inline constexpr std::size_t kMaxMessageSize =
    kHeaderSize + kMaxSenderIdSize + 1 + kTagSizeBlake2b;
inline constexpr std::uint8_t kFlagAuthenticated = 0x01;

// The tag size of `version` (1, 2 or 3) and its trailer (key id + tag).
constexpr std::size_t TagSize(std::uint8_t version) {
  return version >= kWireVersion ? kTagSizeSipHash : kTagSizeBlake2b;
}
constexpr std::size_t AuthTrailerSize(std::uint8_t version) { return 1 + TagSize(version); }

struct Message {
  std::uint8_t version = kWireVersion;  // Encode writes 2 or 3; Decode reads 1, 2 or 3
  MessageType type = MessageType::kHeartbeat;
  std::uint64_t incarnation = 0;
  std::uint64_t sequence = 0;
  std::uint32_t interval_us = 0;
  std::uint64_t send_time_us = 0;
  // The receiver's incarnation as the sender last heard it; 0 if it has not heard it yet.
  // Proves the datagram was sent after the receiver's current run began (docs/security.md).
  std::uint64_t echo = 0;
  bool has_echo = false;       // decoded from version 2 or 3 (version 1 has no echo field)
  std::string_view sender_id;  // points into the decoded buffer
  bool authenticated = false;  // an authentication trailer is present
  std::uint8_t key_id = 0;
  std::span<const std::uint8_t> tag;  // TagSize(version) bytes when authenticated
};

// Why a datagram was rejected. Names (RejectReasonName) are metric label values.
enum class RejectReason : std::uint8_t {
  kTooShort,
  kOversized,
  kBadMagic,
  kBadVersion,
  kBadType,
  kBadFlags,
  kBadReserved,
  kBadIdLength,
  kBadId,
  kBadInterval,
  kLengthMismatch,
  // Decided by the daemon, after decoding:
  kUnknownSender,
  kSelf,
  kStaleIncarnation,
  kOldSequence,
  kAfterLeave,
  kUnauthenticated,  // no authentication trailer, but security.require_auth is on
  kUnknownKey,       // signed with a key id no key in the keyring has
  kBadMac,           // the tag does not verify: forged or altered
  kWrongSource,      // from an address other than the peer's configured one
  kUnconfirmed,      // an incarnation not yet confirmed by an echo of this run (require_echo)
  kEnrollmentFull,   // an authenticated unlisted sender, but enrollment.max_peers is reached
  kCount,
};
std::string_view RejectReasonName(RejectReason reason);

enum class DecodeStatus : std::uint8_t { kOk, kRejected };

// Parses `datagram` (version 1, 2 or 3) strictly: every length and field is checked, in the
// order of docs/protocol.md, and any deviation is a rejection with its reason. On success
// `*out` points into `datagram`, which must outlive it. Never reads outside the span; never
// allocates.
DecodeStatus Decode(std::span<const std::uint8_t> datagram, Message* out, RejectReason* why);

// Writes `message` as its version (2 or 3; without an authentication trailer) into `out` and
// returns its size, or 0 if `out` is too small or the message is invalid (another version,
// empty or over-long sender id, zero interval). Requires nothing else; never allocates.
std::size_t Encode(const Message& message, std::span<std::uint8_t> out);

// Rewrites the echo field of an encoded message in place (one datagram per receiver without
// encoding each anew). Requires a message Encode wrote.
void SetEcho(std::span<std::uint8_t> message, std::uint64_t echo);

// Rewrites the version of an encoded, not yet signed message to 2 or 3 (their layouts differ
// only in the trailer Sign appends), for a receiver that speaks only version 2. Requires a
// message Encode wrote; any other `version` leaves it as it is.
void SetVersion(std::span<std::uint8_t> message, std::uint8_t version);

// True for ids the format allows: 1..64 of [A-Za-z0-9._-].
bool IsValidSenderId(std::string_view id);

}  // namespace vigil
