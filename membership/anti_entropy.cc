// MembershipNode: anti-entropy (docs/membership.md, "Anti-entropy"). Every digest_interval a
// member sends a random member the count and hash sum of the live members it holds; if the
// other's differ, the two swap per-bucket summaries and each pulls the buckets where they
// differ. No message grows with the cluster: a digest is 14 bytes, a summary two datagrams,
// and a pull's answer a few datagrams.
#include <algorithm>
#include <array>

#include "membership/membership_node.h"

namespace vigil::membership {

struct MembershipNode::BucketTally {
  std::array<std::uint32_t, 256> count{};
  std::array<std::uint64_t, 256> sum{};
  // All the buckets at once.
  Digest Total() const {
    Digest total;
    for (unsigned b = 0; b < 256; ++b) {
      total.count += count[b];
      total.root += sum[b];
    }
    return total;
  }
};

MembershipNode::BucketTally MembershipNode::Tally() const {
  BucketTally tally;
  for (unsigned b = 0; b < 256; ++b) {
    tally.count[b] = graph_->BucketCount(static_cast<std::uint8_t>(b));
    tally.sum[b] = graph_->BucketSum(static_cast<std::uint8_t>(b));
  }
  for (const std::string& id : admissions_) {
    const std::uint64_t hash = RingPosition(0, id);
    ++tally.count[hash >> 56];
    tally.sum[hash >> 56] += hash;
  }
  return tally;
}

void MembershipNode::AntiEntropy(MonoTime now, Outbox& out) {
  if (now < next_digest_) return;
  const bool busy = now < busy_until_;
  next_digest_ = AddSaturated(now, busy ? options_.digest_interval_busy : options_.digest_interval);
  if (syncing_) return;
  const std::string target = RandomMember();
  if (target.empty()) return;
  ++digests_sent_;
  out.To(target).digests.push_back(Tally().Total());
}

void MembershipNode::SendSummary(const std::string& to, std::uint8_t first, std::size_t n,
                                 bool answer_back, const BucketTally& tally, Outbox& out) {
  Summary summary{answer_back, first, {}};
  for (std::size_t b = first; b < first + n; ++b) {
    summary.buckets.push_back(Summary::Bucket{static_cast<std::uint32_t>(tally.sum[b]),
                                              static_cast<std::uint16_t>(tally.count[b])});
  }
  out.To(to).summaries.push_back(std::move(summary));
}

void MembershipNode::OnDigest(const Digest& digest, std::string_view from, MonoTime now,
                              Outbox& out) {
  if (syncing_ || from == options_.self) return;
  const BucketTally tally = Tally();
  if (tally.Total() == digest || !ListingAllowed(now)) return;
  ++digest_mismatches_;
  BeBusy(now);
  const std::string to(from);
  SendSummary(to, 0, kMostSummaryBucketsPerRecord, true, tally, out);
  SendSummary(to, kMostSummaryBucketsPerRecord, kMostSummaryBucketsPerRecord, true, tally, out);
}

void MembershipNode::OnSummary(const Summary& summary, std::string_view from, MonoTime now,
                               Outbox& out) {
  if (syncing_ || from == options_.self || !ListingAllowed(now)) return;
  const BucketTally tally = Tally();
  // A pull's answer should stay a few datagrams: about 200 members, at the bucket sizes
  // this node sees.
  const std::uint32_t members = tally.Total().count;
  const std::size_t most_buckets = std::clamp<std::size_t>(
      options_.sync.members_per_pull * 256 / std::max<std::uint32_t>(members, 1), 1, 256);
  const std::string to(from);
  bool differs = false;
  std::size_t run_first = 0, run_length = 0;
  auto pull_run = [&] {
    if (run_length == 0) return;
    out.To(to).pulls.push_back(Pull{static_cast<std::uint8_t>(run_first),
                                    static_cast<std::uint8_t>(run_first + run_length - 1)});
    run_length = 0;
  };
  for (std::size_t n = 0; n < summary.buckets.size(); ++n) {
    const std::size_t b = summary.first + n;
    const Summary::Bucket& theirs = summary.buckets[n];
    const bool same = theirs.count == static_cast<std::uint16_t>(tally.count[b]) &&
                      theirs.sum == static_cast<std::uint32_t>(tally.sum[b]);
    if (same || run_length == most_buckets) pull_run();
    if (same) continue;
    differs = true;
    if (run_length == 0) run_first = b;
    ++run_length;
  }
  pull_run();
  if (!differs) return;
  BeBusy(now);
  if (summary.answer_back) {
    SendSummary(to, summary.first, summary.buckets.size(), false, tally, out);
  }
}

void MembershipNode::BeBusy(MonoTime now) {
  busy_until_ = AddSaturated(now, options_.digest_interval);
  next_digest_ = std::min(next_digest_, AddSaturated(now, options_.digest_interval_busy));
}

}  // namespace vigil::membership
