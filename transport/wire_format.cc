#include "transport/wire_format.h"

#include <cstring>

#include "base/big_endian.h"

namespace vigil {
namespace {

bool IsIdChar(std::uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

}  // namespace

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kTooShort: return "too_short";
    case RejectReason::kOversized: return "oversized";
    case RejectReason::kBadMagic: return "bad_magic";
    case RejectReason::kBadVersion: return "bad_version";
    case RejectReason::kBadType: return "bad_type";
    case RejectReason::kBadFlags: return "bad_flags";
    case RejectReason::kBadReserved: return "bad_reserved";
    case RejectReason::kBadIdLength: return "bad_id_length";
    case RejectReason::kBadId: return "bad_id";
    case RejectReason::kBadInterval: return "bad_interval";
    case RejectReason::kLengthMismatch: return "length_mismatch";
    case RejectReason::kUnknownSender: return "unknown_sender";
    case RejectReason::kSelf: return "self";
    case RejectReason::kStaleIncarnation: return "stale_incarnation";
    case RejectReason::kOldSequence: return "old_sequence";
    case RejectReason::kAfterLeave: return "after_leave";
    case RejectReason::kUnauthenticated: return "unauthenticated";
    case RejectReason::kUnknownKey: return "unknown_key";
    case RejectReason::kBadMac: return "bad_mac";
    case RejectReason::kWrongSource: return "wrong_source";
    case RejectReason::kUnconfirmed: return "unconfirmed";
    case RejectReason::kEnrollmentFull: return "enrollment_full";
    case RejectReason::kCount: break;
  }
  return "unknown";
}

bool IsValidSenderId(std::string_view id) {
  if (id.empty() || id.size() > kMaxSenderIdSize) return false;
  for (char c : id) {
    if (!IsIdChar(static_cast<std::uint8_t>(c))) return false;
  }
  return true;
}

DecodeStatus Decode(std::span<const std::uint8_t> d, Message* out, RejectReason* why) {
  auto reject = [why](RejectReason r) {
    *why = r;
    return DecodeStatus::kRejected;
  };
  if (d.size() > kMaxMessageSize) return reject(RejectReason::kOversized);
  if (d.size() < kHeaderSizeV1 + 1) return reject(RejectReason::kTooShort);
  if (d[0] != kMagic0 || d[1] != kMagic1) return reject(RejectReason::kBadMagic);
  const std::uint8_t version = d[2];
  if (version < kWireVersion1 || version > kWireVersion) {
    return reject(RejectReason::kBadVersion);
  }
  const bool has_echo = version >= kWireVersion2;
  const std::size_t header = has_echo ? kHeaderSize : kHeaderSizeV1;
  if (d[3] != static_cast<std::uint8_t>(MessageType::kHeartbeat) &&
      d[3] != static_cast<std::uint8_t>(MessageType::kLeave)) {
    return reject(RejectReason::kBadType);
  }
  const std::uint8_t flags = d[4];
  if ((flags & ~kFlagAuthenticated) != 0) return reject(RejectReason::kBadFlags);
  const std::size_t id_len = d[5];
  if (id_len == 0 || id_len > kMaxSenderIdSize) return reject(RejectReason::kBadIdLength);
  if (d[6] != 0 || d[7] != 0) return reject(RejectReason::kBadReserved);
  const bool authenticated = (flags & kFlagAuthenticated) != 0;
  const std::size_t expected = header + id_len + (authenticated ? AuthTrailerSize(version) : 0);
  if (d.size() != expected) return reject(RejectReason::kLengthMismatch);
  for (std::size_t i = 0; i < id_len; ++i) {
    if (!IsIdChar(d[header + i])) return reject(RejectReason::kBadId);
  }
  const std::uint32_t interval = LoadBigEndian32(&d[24]);
  if (interval == 0) return reject(RejectReason::kBadInterval);

  out->version = version;
  out->type = static_cast<MessageType>(d[3]);
  out->incarnation = LoadBigEndian64(&d[8]);
  out->sequence = LoadBigEndian64(&d[16]);
  out->interval_us = interval;
  out->send_time_us = LoadBigEndian64(&d[28]);
  out->has_echo = has_echo;
  out->echo = has_echo ? LoadBigEndian64(&d[36]) : 0;
  out->sender_id = std::string_view(reinterpret_cast<const char*>(&d[header]), id_len);
  out->authenticated = authenticated;
  if (authenticated) {
    out->key_id = d[header + id_len];
    out->tag = d.subspan(header + id_len + 1, TagSize(version));
  } else {
    out->key_id = 0;
    out->tag = {};
  }
  return DecodeStatus::kOk;
}

std::size_t Encode(const Message& m, std::span<std::uint8_t> out) {
  if (!IsValidSenderId(m.sender_id) || m.interval_us == 0) return 0;
  if (m.version != kWireVersion && m.version != kWireVersion2) return 0;
  const std::size_t size = kHeaderSize + m.sender_id.size();
  if (out.size() < size) return 0;
  std::uint8_t* p = out.data();
  p[0] = kMagic0;
  p[1] = kMagic1;
  p[2] = m.version;
  p[3] = static_cast<std::uint8_t>(m.type);
  p[4] = 0;
  p[5] = static_cast<std::uint8_t>(m.sender_id.size());
  p[6] = 0;
  p[7] = 0;
  StoreBigEndian64(p + 8, m.incarnation);
  StoreBigEndian64(p + 16, m.sequence);
  StoreBigEndian32(p + 24, m.interval_us);
  StoreBigEndian64(p + 28, m.send_time_us);
  StoreBigEndian64(p + 36, m.echo);
  std::memcpy(p + kHeaderSize, m.sender_id.data(), m.sender_id.size());
  return size;
}

void SetEcho(std::span<std::uint8_t> message, std::uint64_t echo) {
  if (message.size() >= kHeaderSize && message[2] >= kWireVersion2) {
    StoreBigEndian64(&message[36], echo);
  }
}

void SetVersion(std::span<std::uint8_t> message, std::uint8_t version) {
  const bool encoded = message.size() >= kHeaderSize && message[2] >= kWireVersion2;
  if (encoded && (version == kWireVersion || version == kWireVersion2)) message[2] = version;
}

}  // namespace vigil
