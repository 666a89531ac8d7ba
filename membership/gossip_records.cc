#include "membership/gossip_records.h"

#include <string>

#include "base/big_endian.h"

namespace vigil::membership::records {

Status CheckRecord(const Pull& p) {
  if (p.first > p.last) {
    return Status::InvalidArgument("pull of buckets " + std::to_string(p.first) + ".." +
                                   std::to_string(p.last) + ": first past last");
  }
  return Status::OK();
}
Status CheckRecord(const Census& c) {
  if (c.first > c.last || (c.welcome && (c.first != 0 || c.last != 255))) {
    return Status::InvalidArgument("census of buckets " + std::to_string(c.first) + ".." +
                                   std::to_string(c.last) +
                                   (c.welcome ? ": a welcome covers 0..255" : ": first past last"));
  }
  return Status::OK();
}
Status CheckRecord(const Summary& s) {
  if (s.buckets.empty() || s.buckets.size() > kMostSummaryBuckets ||
      s.first + s.buckets.size() > 256) {
    return Status::InvalidArgument("summary from bucket " + std::to_string(s.first) + " of " +
                                   std::to_string(s.buckets.size()) + " buckets");
  }
  return Status::OK();
}
std::size_t RecordSize(const Summary& s) {
  return kSummaryRecordSize + kSummaryBucketSize * s.buckets.size();
}
void PutRecord(std::vector<std::uint8_t>& out, const Pull& p) {
  out.insert(out.end(), {kPullRecord, p.first, p.last});
}
void PutRecord(std::vector<std::uint8_t>& out, const Census& c) {
  out.insert(out.end(), {kCensusRecord, c.welcome ? kCensusWelcome : std::uint8_t{0}, c.first,
                         c.last, 0, 0, 0, 0});
  StoreBigEndian32(out.data() + out.size() - 4, c.count);
}

void PutRecord(std::vector<std::uint8_t>& out, const Digest& d) {
  out.insert(out.end(), {kDigestRecord, 0});
  out.resize(out.size() + 12);
  StoreBigEndian32(out.data() + out.size() - 12, d.count);
  StoreBigEndian64(out.data() + out.size() - 8, d.root);
}
void PutRecord(std::vector<std::uint8_t>& out, const Summary& s) {
  out.insert(out.end(), {kSummaryRecord, s.answer_back ? kSummaryAnswerBack : std::uint8_t{0},
                         s.first, static_cast<std::uint8_t>(s.buckets.size())});
  for (const Summary::Bucket& b : s.buckets) {
    out.resize(out.size() + kSummaryBucketSize);
    StoreBigEndian32(out.data() + out.size() - 6, b.sum);
    out[out.size() - 2] = static_cast<std::uint8_t>(b.count >> 8);
    out[out.size() - 1] = static_cast<std::uint8_t>(b.count & 0xff);
  }
}

// Reads a Pull or Census record at d[pos] into `gossip`; advances `pos`. Requires pos < end.
bool ReadBucketRecord(std::span<const std::uint8_t> d, std::size_t& pos, std::size_t end,
                      Gossip* gossip, GossipReject* why) {
  const bool pull = d[pos] == kPullRecord;
  const std::size_t size = pull ? kPullRecordSize : kCensusRecordSize;
  if (end - pos < size) return (*why = GossipReject::kLengthMismatch, false);
  Status checked;
  if (pull) {
    const Pull p{d[pos + 1], d[pos + 2]};
    checked = CheckRecord(p);
    gossip->pulls.push_back(p);
  } else {
    if ((d[pos + 1] & ~kCensusWelcome) != 0) return (*why = GossipReject::kBadRecord, false);
    const Census c{d[pos + 1] == kCensusWelcome, d[pos + 2], d[pos + 3],
                   LoadBigEndian32(&d[pos + 4])};
    checked = CheckRecord(c);
    gossip->censuses.push_back(c);
  }
  if (!checked.ok()) return (*why = GossipReject::kBadRecord, false);
  pos += size;
  return true;
}

// Reads a Digest or Summary record at d[pos] into `gossip`; advances `pos`. Requires pos < end.
bool ReadDigestRecord(std::span<const std::uint8_t> d, std::size_t& pos, std::size_t end,
                      Gossip* gossip, GossipReject* why) {
  if (d[pos] == kDigestRecord) {
    if (end - pos < kDigestRecordSize) return (*why = GossipReject::kLengthMismatch, false);
    if (d[pos + 1] != 0) return (*why = GossipReject::kBadRecord, false);
    gossip->digests.push_back(
        Digest{LoadBigEndian32(&d[pos + 2]), LoadBigEndian64(&d[pos + 6])});
    pos += kDigestRecordSize;
    return true;
  }
  if (end - pos < kSummaryRecordSize) return (*why = GossipReject::kLengthMismatch, false);
  const std::size_t n = d[pos + 3];
  if (end - pos - kSummaryRecordSize < n * kSummaryBucketSize) {
    return (*why = GossipReject::kLengthMismatch, false);
  }
  if ((d[pos + 1] & ~kSummaryAnswerBack) != 0) return (*why = GossipReject::kBadRecord, false);
  Summary summary{d[pos + 1] == kSummaryAnswerBack, d[pos + 2], {}};
  for (std::size_t b = 0; b < n; ++b) {
    const std::uint8_t* at = &d[pos + kSummaryRecordSize + b * kSummaryBucketSize];
    summary.buckets.push_back(Summary::Bucket{
        LoadBigEndian32(at), static_cast<std::uint16_t>((at[4] << 8) | at[5])});
  }
  if (!CheckRecord(summary).ok()) return (*why = GossipReject::kBadRecord, false);
  gossip->summaries.push_back(std::move(summary));
  pos += kSummaryRecordSize + n * kSummaryBucketSize;
  return true;
}

}  // namespace vigil::membership::records
