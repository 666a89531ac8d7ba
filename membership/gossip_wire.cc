#include "membership/gossip_wire.h"

#include <cstdint>
#include <string>

#include "base/big_endian.h"
#include "membership/gossip_records.h"
#include "transport/wire_format.h"

namespace vigil::membership {
namespace {

using records::CheckRecord;
using records::PutRecord;
using records::ReadBucketRecord;
using records::ReadDigestRecord;
using records::RecordSize;

constexpr std::size_t kTrailerSize = kMembershipTrailerSize;
// The smallest datagram: a 1-byte sender id and one Pull.
constexpr std::size_t kMinDatagram = kMembershipHeaderSize + 1 + kPullRecordSize;

// The records with the Alive record's layout: which kind, where in a Gossip, what to call
// them in an error, whether incarnation 0 is allowed, whether a contact is.
struct IdRecordKind {
  std::uint8_t kind;
  std::vector<Alive> Gossip::*list;
  const char* name;
  bool zero_ok;
  bool contact_ok;
};
constexpr IdRecordKind kIdRecords[] = {
    {kAliveRecord, &Gossip::alives, "refutation", false, true},
    {kJoinRecord, &Gossip::joins, "join", false, true},
    {kMemberRecord, &Gossip::members, "member", false, true},
    {kRemovedRecord, &Gossip::removed, "removed", true, true},
    {kLeaveRecord, &Gossip::leaves, "leave", false, false},
    {kLeftRecord, &Gossip::left, "left", false, false},
};
// The kind's entry in kIdRecords; null if `kind` has another layout.
const IdRecordKind* IdRecordOf(std::uint8_t kind) {
  for (const IdRecordKind& k : kIdRecords) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

std::size_t RecordSize(const Report& r) {
  return kReportRecordSize + r.observer.size() + r.subject.size();
}
std::size_t RecordSize(const Alive& a) { return AliveRecordSize(a); }

Status CheckRecord(const Report& r) {
  if (!IsValidSenderId(r.observer) || !IsValidSenderId(r.subject)) {
    return Status::InvalidArgument("report " + r.observer + " -> " + r.subject +
                                   ": an id is not 1 to 64 of [A-Za-z0-9._-]");
  }
  if (r.observer == r.subject) {
    return Status::InvalidArgument("report " + r.observer + ": observer is its own subject");
  }
  return Status::OK();
}
Status CheckRecord(const Alive& a, const IdRecordKind& kind) {
  if (!IsValidSenderId(a.member)) {
    return Status::InvalidArgument(std::string(kind.name) + " of '" + a.member +
                                   "': not 1 to 64 of [A-Za-z0-9._-]");
  }
  if (a.incarnation == 0 && !kind.zero_ok) {
    return Status::InvalidArgument(std::string(kind.name) + " of " + a.member +
                                   ": incarnation 0");
  }
  if (a.contact.size() > kMaxContactSize) {
    return Status::InvalidArgument(std::string(kind.name) + " of " + a.member +
                                   ": a contact of more than 32 bytes");
  }
  if (!a.contact.empty() && !kind.contact_ok) {
    return Status::InvalidArgument(std::string(kind.name) + " of " + a.member +
                                   ": a contact, which it cannot carry");
  }
  return Status::OK();
}
// Every record of `gossip`, checked.
Status CheckRecords(const Gossip& gossip) {
  for (const IdRecordKind& kind : kIdRecords) {
    for (const Alive& a : gossip.*kind.list) {
      if (Status s = CheckRecord(a, kind); !s.ok()) return s;
    }
  }
  for (const Report& r : gossip.reports) {
    if (Status s = CheckRecord(r); !s.ok()) return s;
  }
  for (const Pull& p : gossip.pulls) {
    if (Status s = CheckRecord(p); !s.ok()) return s;
  }
  for (const Census& c : gossip.censuses) {
    if (Status s = CheckRecord(c); !s.ok()) return s;
  }
  for (const Summary& summary : gossip.summaries) {
    if (Status s = CheckRecord(summary); !s.ok()) return s;
  }
  return Status::OK();
}

// Appends `id`'s bytes.
void PutId(std::vector<std::uint8_t>& out, const std::string& id) {
  out.insert(out.end(), id.begin(), id.end());
}
void Put64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  out.resize(out.size() + 8);
  StoreBigEndian64(out.data() + out.size() - 8, v);
}

void PutRecord(std::vector<std::uint8_t>& out, const Alive& a, std::uint8_t kind) {
  out.push_back(kind);
  out.push_back(static_cast<std::uint8_t>(a.member.size()));
  out.push_back(static_cast<std::uint8_t>(a.contact.size()));
  Put64(out, a.incarnation);
  PutId(out, a.member);
  PutId(out, a.contact);
}
void PutRecord(std::vector<std::uint8_t>& out, const Report& r) {
  out.push_back(kReportRecord);
  out.push_back(static_cast<std::uint8_t>(r.observer.size()));
  out.push_back(static_cast<std::uint8_t>(r.subject.size()));
  Put64(out, r.incarnation);
  out.resize(out.size() + 4);
  StoreBigEndian32(out.data() + out.size() - 4, r.round);
  PutId(out, r.observer);
  PutId(out, r.subject);
}
std::size_t RecordCount(const Gossip& g) {
  return g.reports.size() + g.alives.size() + g.joins.size() + g.members.size() +
         g.removed.size() + g.leaves.size() + g.left.size() + g.pulls.size() + g.censuses.size() + g.digests.size() +
         g.summaries.size();
}

std::vector<std::uint8_t> EncodePart(const GossipPart& part, const MembershipHeader& header,
                                     std::uint64_t sequence, const Key* key) {
  std::vector<std::uint8_t> out(kMembershipHeaderSize);
  out.reserve(part.bytes);
  out[0] = kMagic0;
  out[1] = kMagic1;
  out[2] = kWireVersion;
  out[3] = kMembershipType;
  out[5] = static_cast<std::uint8_t>(header.sender.size());
  out[6] = static_cast<std::uint8_t>(RecordCount(part.gossip));
  StoreBigEndian64(&out[8], header.incarnation);
  StoreBigEndian64(&out[16], sequence);
  StoreBigEndian64(&out[24], header.echo);
  out.insert(out.end(), header.sender.begin(), header.sender.end());
  for (const Alive& a : part.gossip.alives) PutRecord(out, a, kAliveRecord);
  for (const Report& r : part.gossip.reports) PutRecord(out, r);
  for (const Alive& a : part.gossip.joins) PutRecord(out, a, kJoinRecord);
  for (const Alive& a : part.gossip.members) PutRecord(out, a, kMemberRecord);
  for (const Alive& a : part.gossip.removed) PutRecord(out, a, kRemovedRecord);
  for (const Alive& a : part.gossip.leaves) PutRecord(out, a, kLeaveRecord);
  for (const Alive& a : part.gossip.left) PutRecord(out, a, kLeftRecord);
  for (const Pull& p : part.gossip.pulls) PutRecord(out, p);
  for (const Census& c : part.gossip.censuses) PutRecord(out, c);
  for (const Digest& d : part.gossip.digests) PutRecord(out, d);
  for (const Summary& s : part.gossip.summaries) PutRecord(out, s);
  if (key != nullptr) {
    const std::size_t length = out.size();
    out.resize(length + kTrailerSize);
    Sign(out, length, *key);
  }
  return out;
}

// Reads a record of `kind`'s Alive layout at d[pos] into `gossip`; advances `pos`. Requires
// pos < end.
bool ReadIdRecord(std::span<const std::uint8_t> d, std::size_t& pos, std::size_t end,
                  const IdRecordKind& kind, Gossip* gossip, GossipReject* why) {
  if (end - pos < kAliveRecordSize) return (*why = GossipReject::kLengthMismatch, false);
  const std::size_t a = d[pos + 1];
  const std::size_t c = d[pos + 2];
  if (a == 0 || a > kMaxSenderIdSize || c > kMaxContactSize) {
    return (*why = GossipReject::kBadRecord, false);
  }
  if (end - pos - kAliveRecordSize < a + c) return (*why = GossipReject::kLengthMismatch, false);
  Alive alive;
  alive.incarnation = LoadBigEndian64(&d[pos + 3]);
  const char* id = reinterpret_cast<const char*>(&d[pos + kAliveRecordSize]);
  alive.member.assign(id, a);
  alive.contact.assign(id + a, c);
  if (!CheckRecord(alive, kind).ok()) return (*why = GossipReject::kBadRecord, false);
  (gossip->*kind.list).push_back(std::move(alive));
  pos += kAliveRecordSize + a + c;
  return true;
}

// Reads a report record at d[pos] into `gossip`; advances `pos`. Requires pos < end.
bool ReadReport(std::span<const std::uint8_t> d, std::size_t& pos, std::size_t end,
                Gossip* gossip, GossipReject* why) {
  if (end - pos < kReportRecordSize) return (*why = GossipReject::kLengthMismatch, false);
  const std::size_t a = d[pos + 1];
  const std::size_t b = d[pos + 2];
  if (a == 0 || a > kMaxSenderIdSize || b == 0 || b > kMaxSenderIdSize) {
    return (*why = GossipReject::kBadRecord, false);
  }
  if (end - pos - kReportRecordSize < a + b) {
    return (*why = GossipReject::kLengthMismatch, false);
  }
  Report report;
  report.incarnation = LoadBigEndian64(&d[pos + 3]);
  report.round = LoadBigEndian32(&d[pos + 11]);
  const char* ids = reinterpret_cast<const char*>(&d[pos + kReportRecordSize]);
  report.observer.assign(ids, a);
  report.subject.assign(ids + a, b);
  if (!CheckRecord(report).ok()) return (*why = GossipReject::kBadRecord, false);
  gossip->reports.push_back(std::move(report));
  pos += kReportRecordSize + a + b;
  return true;
}

// Reads `count` records from d[pos, end), which they must fill exactly.
bool ReadRecords(std::span<const std::uint8_t> d, std::size_t pos, std::size_t end,
                 std::size_t count, Gossip* gossip, GossipReject* why) {
  for (std::size_t i = 0; i < count; ++i) {
    if (pos >= end) return (*why = GossipReject::kLengthMismatch, false);
    bool ok = false;
    const std::uint8_t kind = d[pos];
    if (kind == kReportRecord) {
      ok = ReadReport(d, pos, end, gossip, why);
    } else if (kind == kPullRecord || kind == kCensusRecord) {
      ok = ReadBucketRecord(d, pos, end, gossip, why);
    } else if (kind == kDigestRecord || kind == kSummaryRecord) {
      ok = ReadDigestRecord(d, pos, end, gossip, why);
    } else if (const IdRecordKind* id_kind = IdRecordOf(kind)) {
      ok = ReadIdRecord(d, pos, end, *id_kind, gossip, why);
    } else {
      *why = GossipReject::kBadRecord;
    }
    if (!ok) return false;
  }
  if (pos != end) return (*why = GossipReject::kLengthMismatch, false);
  return true;
}

// The checks of the fixed header, in the documented order; fills `out->header`.
bool ReadHeader(std::span<const std::uint8_t> d, MembershipDatagram* out, GossipReject* why) {
  auto reject = [why](GossipReject r) { return (*why = r, false); };
  if (d.size() > kMaxMembershipDatagram) return reject(GossipReject::kOversized);
  if (d.size() < kMinDatagram) return reject(GossipReject::kTooShort);
  if (d[0] != kMagic0 || d[1] != kMagic1) return reject(GossipReject::kBadMagic);
  if (d[2] != kWireVersion) return reject(GossipReject::kBadVersion);
  if (d[3] != kMembershipType) return reject(GossipReject::kBadType);
  if ((d[4] & ~kFlagAuthenticated) != 0) return reject(GossipReject::kBadFlags);
  if (d[5] == 0 || d[5] > kMaxSenderIdSize) return reject(GossipReject::kBadIdLength);
  if (d[6] == 0) return reject(GossipReject::kBadRecordCount);
  if (d[7] != 0) return reject(GossipReject::kBadReserved);
  out->header.incarnation = LoadBigEndian64(&d[8]);
  if (out->header.incarnation == 0) return reject(GossipReject::kBadIncarnation);
  out->header.sequence = LoadBigEndian64(&d[16]);
  if (out->header.sequence == 0) return reject(GossipReject::kBadSequence);
  out->header.echo = LoadBigEndian64(&d[24]);
  const std::size_t trailer = (d[4] & kFlagAuthenticated) != 0 ? kTrailerSize : 0;
  if (kMembershipHeaderSize + d[5] + trailer > d.size()) {
    return reject(GossipReject::kLengthMismatch);
  }
  out->header.sender = std::string_view(
      reinterpret_cast<const char*>(&d[kMembershipHeaderSize]), d[5]);
  if (!IsValidSenderId(out->header.sender)) return reject(GossipReject::kBadId);
  return true;
}

}  // namespace

std::string_view GossipRejectName(GossipReject reason) {
  switch (reason) {
    case GossipReject::kTooShort: return "too_short";
    case GossipReject::kOversized: return "oversized";
    case GossipReject::kBadMagic: return "bad_magic";
    case GossipReject::kBadVersion: return "bad_version";
    case GossipReject::kBadType: return "bad_type";
    case GossipReject::kBadFlags: return "bad_flags";
    case GossipReject::kBadIdLength: return "bad_id_length";
    case GossipReject::kBadRecordCount: return "bad_record_count";
    case GossipReject::kBadReserved: return "bad_reserved";
    case GossipReject::kBadIncarnation: return "bad_incarnation";
    case GossipReject::kBadSequence: return "bad_sequence";
    case GossipReject::kLengthMismatch: return "length_mismatch";
    case GossipReject::kBadId: return "bad_id";
    case GossipReject::kBadRecord: return "bad_record";
    case GossipReject::kUnauthenticated: return "unauthenticated";
    case GossipReject::kUnknownKey: return "unknown_key";
    case GossipReject::kBadMac: return "bad_mac";
    case GossipReject::kCount: break;
  }
  return "unknown";
}

std::vector<GossipPart> SplitGossip(const Gossip& gossip, std::size_t sender_size) {
  std::vector<GossipPart> parts;
  std::size_t records = 0;  // in parts.back()
  auto room_for = [&](std::size_t bytes) -> Gossip& {
    if (parts.empty() || parts.back().bytes + bytes > kMaxMembershipDatagram ||
        records == kMaxRecords) {
      parts.push_back({Gossip{}, kMembershipHeaderSize + sender_size + kTrailerSize});
      records = 0;
    }
    parts.back().bytes += bytes;
    ++records;
    return parts.back().gossip;
  };
  for (const Alive& a : gossip.alives) room_for(RecordSize(a)).alives.push_back(a);
  for (const Report& r : gossip.reports) room_for(RecordSize(r)).reports.push_back(r);
  for (const Alive& a : gossip.joins) room_for(RecordSize(a)).joins.push_back(a);
  for (const Alive& a : gossip.members) room_for(RecordSize(a)).members.push_back(a);
  for (const Alive& a : gossip.removed) room_for(RecordSize(a)).removed.push_back(a);
  for (const Alive& a : gossip.leaves) room_for(RecordSize(a)).leaves.push_back(a);
  for (const Alive& a : gossip.left) room_for(RecordSize(a)).left.push_back(a);
  for (const Pull& p : gossip.pulls) room_for(kPullRecordSize).pulls.push_back(p);
  for (const Census& c : gossip.censuses) room_for(kCensusRecordSize).censuses.push_back(c);
  for (const Digest& d : gossip.digests) room_for(kDigestRecordSize).digests.push_back(d);
  for (const Summary& s : gossip.summaries) room_for(RecordSize(s)).summaries.push_back(s);
  return parts;
}

Result<std::vector<std::vector<std::uint8_t>>> EncodeGossip(const Gossip& gossip,
                                                            const MembershipHeader& header,
                                                            const Key* key) {
  if (!IsValidSenderId(header.sender)) {
    return Status::InvalidArgument("sender id '" + std::string(header.sender) +
                                   "': not 1 to 64 of [A-Za-z0-9._-]");
  }
  if (header.incarnation == 0) return Status::InvalidArgument("sender incarnation 0");
  if (header.sequence == 0) return Status::InvalidArgument("sequence 0");
  if (Status s = CheckRecords(gossip); !s.ok()) return s;
  const std::vector<GossipPart> parts = SplitGossip(gossip, header.sender.size());
  if (!parts.empty() && header.sequence > UINT64_MAX - (parts.size() - 1)) {
    return Status::InvalidArgument("sequence " + std::to_string(header.sequence) + ": " +
                                   std::to_string(parts.size()) + " datagrams would wrap it");
  }
  std::vector<std::vector<std::uint8_t>> datagrams;
  std::uint64_t sequence = header.sequence;
  for (const GossipPart& part : parts) {
    datagrams.push_back(EncodePart(part, header, sequence++, key));
  }
  return datagrams;
}


bool DecodeGossip(std::span<const std::uint8_t> datagram, const Keyring* ring, bool require_auth,
                  MembershipDatagram* out, GossipReject* why) {
  *out = MembershipDatagram{};
  if (!ReadHeader(datagram, out, why)) return false;
  // Authentication before the records: a forged datagram costs no record parsing.
  const bool signed_datagram = (datagram[4] & kFlagAuthenticated) != 0;
  if (ring != nullptr && signed_datagram) {
    switch (VerifyTrailer(datagram, kWireVersion, *ring)) {
      case AuthResult::kOk: out->authenticated = true; break;
      case AuthResult::kUnknownKey: return (*why = GossipReject::kUnknownKey, false);
      case AuthResult::kBadTag: return (*why = GossipReject::kBadMac, false);
    }
  }
  if (require_auth && !out->authenticated) return (*why = GossipReject::kUnauthenticated, false);
  const std::size_t end = datagram.size() - (signed_datagram ? kTrailerSize : 0);
  const std::size_t records = kMembershipHeaderSize + out->header.sender.size();
  return ReadRecords(datagram, records, end, datagram[6], &out->gossip, why);
}

}  // namespace vigil::membership
