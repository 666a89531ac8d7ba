// The membership datagram (type 3 of vigil's wire format): the reports and refutations one
// member sends another, authenticated with the cluster keyring, at most 1,232 bytes.
// docs/membership.md ("Messages") is the normative description; heartbeats between members
// are protocol.md's heartbeat datagrams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "membership/messages.h"
#include "transport/keyring.h"

namespace vigil::membership {

// Layout (all integers big-endian):
//   0  2  magic 0x56 0x47 ("VG"), as every vigil datagram
//   2  1  version 3
//   3  1  type 3 (membership)
//   4  1  flags (bit 0: an authentication trailer ends the datagram; others zero)
//   5  1  sender id length N (1..64)
//   6  1  record count R (1..255)
//   7  1  reserved, zero
//   8  8  the sender's incarnation (> 0)
//  16  8  sequence: per sender incarnation, one per membership datagram, from 1
//  24  8  echo: the receiver's incarnation as the sender knows it (0: not known)
//  32  N  sender id
//  32+N   R records, each a kind byte and its fields (below), in any order
//  end    if flag bit 0: key id (1 byte) and 16 bytes of SipHash-2-4-128 (protocol.md)
// Report record (15 + A + B bytes): 0x01, A, B, incarnation (8), round (4), observer (A
// bytes), subject (B bytes). Alive record (11 + A + C bytes): 0x02, A, C (0..32), incarnation
// (8), member (A bytes), contact (C bytes).
// Join (0x03), Member (0x04), Removed (0x05), Leave (0x0a) and Left (0x0b) records have the
// Alive record's layout (a Removed record may name incarnation 0, the others may not; Leave
// and Left records have no contact, C = 0). Pull record (3 bytes):
// 0x06, first bucket, last bucket (first <= last). Census record (8 bytes): 0x07, flags
// (bit 0: a Welcome, which must cover 0 .. 255; others zero), first, last (first <= last),
// count (4). Digest record (14 bytes): 0x08, flags (zero), count (4), root (8). Summary
// record (4 + 6n bytes): 0x09, flags (bit 0: answer back; others zero), first bucket, n
// (1..128, first + n <= 256), then n times: sum (4), count (2).
inline constexpr std::uint8_t kMembershipType = 3;
inline constexpr std::size_t kMaxMembershipDatagram = 1232;  // IPv6 minimum MTU less headers
inline constexpr std::size_t kMembershipHeaderSize = 32;
inline constexpr std::size_t kMaxRecords = 255;  // the count byte
inline constexpr std::size_t kReportRecordSize = 15;  // without its two ids
inline constexpr std::size_t kAliveRecordSize = 11;  // without id, contact (Join, Member, Removed too)
inline constexpr std::size_t kPullRecordSize = 3;
inline constexpr std::size_t kCensusRecordSize = 8;
inline constexpr std::size_t kDigestRecordSize = 14;
inline constexpr std::size_t kSummaryRecordSize = 4;  // without its buckets
inline constexpr std::size_t kSummaryBucketSize = 6;
inline constexpr std::size_t kMostSummaryBuckets = 128;
inline constexpr std::uint8_t kReportRecord = 1;
inline constexpr std::uint8_t kAliveRecord = 2;
inline constexpr std::uint8_t kJoinRecord = 3;
inline constexpr std::uint8_t kMemberRecord = 4;
inline constexpr std::uint8_t kRemovedRecord = 5;
inline constexpr std::uint8_t kPullRecord = 6;
inline constexpr std::uint8_t kCensusRecord = 7;
inline constexpr std::uint8_t kDigestRecord = 8;
inline constexpr std::uint8_t kSummaryRecord = 9;
inline constexpr std::uint8_t kLeaveRecord = 10;
inline constexpr std::uint8_t kLeftRecord = 11;
inline constexpr std::uint8_t kCensusWelcome = 1;  // the Census flag bit
inline constexpr std::uint8_t kSummaryAnswerBack = 1;  // the Summary flag bit

// The header fields of one membership datagram.
struct MembershipHeader {
  std::string_view sender;
  std::uint64_t incarnation = 0;  // the sender's
  std::uint64_t sequence = 0;     // of the first datagram, for EncodeGossip
  std::uint64_t echo = 0;         // the receiver's incarnation as the sender knows it
};

// Why a membership datagram was rejected. Names (GossipRejectName) are metric label values.
enum class GossipReject : std::uint8_t {
  kTooShort,
  kOversized,
  kBadMagic,
  kBadVersion,
  kBadType,
  kBadFlags,
  kBadIdLength,
  kBadRecordCount,
  kBadReserved,
  kBadIncarnation,
  kBadSequence,
  kLengthMismatch,
  kBadId,
  kBadRecord,
  kUnauthenticated,  // no trailer, and authentication is required
  kUnknownKey,
  kBadMac,
  kCount,
};
std::string_view GossipRejectName(GossipReject reason);

// The bytes of a refutation, Join, Member or Removed record for `a`.
inline std::size_t AliveRecordSize(const Alive& a) {
  return kAliveRecordSize + a.member.size() + a.contact.size();
}
// The authentication trailer a signed membership datagram ends with.
inline constexpr std::size_t kMembershipTrailerSize = AuthTrailerSize(kWireVersion);

// One datagram's share of a Gossip, and the datagram's size with a trailer.
struct GossipPart {
  Gossip gossip;
  std::size_t bytes = 0;
};

// Splits `gossip` into the datagrams EncodeGossip writes for a sender id of `sender_size`
// bytes: refutations first, then reports, joins, members, removed, leaves, left, pulls, censuses, digests
// and summaries, each
// datagram filled in order until the next record would take it past kMaxMembershipDatagram
// with a trailer, or past kMaxRecords records. `bytes`
// counts the trailer: a datagram sent unsigned is cut at the same place, 17 bytes shorter.
// Empty gossip gives no part. Requires ids of at most 64 bytes (every record then fits).
std::vector<GossipPart> SplitGossip(const Gossip& gossip, std::size_t sender_size);

// The datagrams that carry `gossip` from `header.sender`, numbered header.sequence,
// header.sequence + 1, ...; each signed with `key` unless it is null. On failure
// InvalidArgument naming the field: an id outside protocol.md's rules (1..64 of
// [A-Za-z0-9._-]), a zero sender incarnation or sequence, a sequence the datagrams would
// take past 2^64 - 1, a refutation, join, member, leave or left of incarnation 0, a contact
// over 32 bytes or on a leave or left, a report whose observer is its subject, a pull or census whose
// first bucket is past its last, a welcome that does not cover 0 .. 255, a summary of no
// bucket, of more than 128 or past bucket 255. (A report or a removed record may name
// incarnation 0: its observer never heard the subject.)
Result<std::vector<std::vector<std::uint8_t>>> EncodeGossip(const Gossip& gossip,
                                                            const MembershipHeader& header,
                                                            const Key* key);

// A decoded membership datagram. `header.sender` points into the decoded bytes.
struct MembershipDatagram {
  MembershipHeader header;
  Gossip gossip;
  bool authenticated = false;  // a trailer was present and verified
};

// Decodes `datagram` strictly, checks in the order of docs/membership.md: the header and
// sender id, then the trailer (with `ring`, a trailer must verify: kUnknownKey, kBadMac; a
// datagram not authenticated, with no trailer or no ring to check one with, is
// kUnauthenticated when `require_auth`), then the records. On
// rejection returns false with `*why` set and `*out` unspecified. Never reads outside the
// span. The gossip is checked for form only: whether its reports count is MembershipNode's.
bool DecodeGossip(std::span<const std::uint8_t> datagram, const Keyring* ring, bool require_auth,
                  MembershipDatagram* out, GossipReject* why);

}  // namespace vigil::membership
