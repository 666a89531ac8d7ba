// Who watches whom in a cluster: every member is watched by K observers, chosen from the
// membership alone on K hashed rings (the monitoring topology of Rapid and Akka Cluster;
// docs/membership.md, "Observers"). Every node that holds the same member list computes the
// same graph, with no message exchanged about it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "membership/ring_position.h"

namespace vigil::membership {

// A member's position in a graph's members(): dense, 0 .. size() - 1.
using MemberIndex = std::uint32_t;

// The observer graph of one member list. The rule, for a subject s and each ring r in order
// 0 .. K-1: walk ring r forward (ascending position, ties by id, wrapping) from s and take
// the first member that is neither s nor already taken on an earlier ring. So a member has
// exactly min(K, N - 1) distinct observers, a join or a leave changes about 2K edges (the
// members next to it on each ring), and each member observes about K subjects (exactly K
// unless a walk fell through to a second member, which is rare once N >> K^2).
//
// Immutable once built; safe to share between threads for reading. Memory: 8K + 8 bytes per
// member (observers, subjects, offsets, ring-0 order) and 3 KB, beside the ids (a std::string
// each).
class ObserverGraph {
 public:
  ObserverGraph() = default;

  // Builds the graph of `members` (ids, any order; duplicates are dropped) with K =
  // `observers`. Requires 1 <= observers <= kMaxObservers. Cost: O(K N log N).
  static ObserverGraph Build(std::vector<std::string> members, int observers);

  int observers_per_member() const { return k_; }
  std::size_t size() const { return ids_.size(); }
  // The members sorted by id (byte order); a MemberIndex names one of them.
  std::span<const std::string> members() const { return ids_; }
  // Requires m < size().
  const std::string& id(MemberIndex m) const { return ids_[m]; }
  std::optional<MemberIndex> Find(std::string_view id) const;

  // The observers of `subject`, in ring order (the observer on ring 0 first): min(K, N - 1)
  // distinct members, none of them the subject. Requires subject < size().
  std::span<const MemberIndex> ObserversOf(MemberIndex subject) const;
  // Where `observer` stands among ObserversOf(subject), or -1 if it does not watch it.
  // Requires subject < size().
  int ObserverSlot(MemberIndex subject, MemberIndex observer) const;
  // The members `observer` watches, ascending. Requires observer < size().
  std::span<const MemberIndex> SubjectsOf(MemberIndex observer) const;
  // The members a node exchanges membership messages with: its observers and its subjects,
  // without repeats, ascending (the flooding graph of docs/membership.md).
  std::vector<MemberIndex> NeighboursOf(MemberIndex m) const;
  // The members whose bucket (BucketOf) is in first .. last, in ring-0 order (a Pull's
  // answer). Cost: O(log N) hashes and the size of the answer.
  std::vector<MemberIndex> InBuckets(std::uint8_t first, std::uint8_t last) const;
  // The members in bucket `b`, and the sum of their hashes (RingPosition(0, id)) modulo 2^64.
  std::uint32_t BucketCount(std::uint8_t b) const { return bucket_count_[b]; }
  std::uint64_t BucketSum(std::uint8_t b) const { return bucket_sum_[b]; }

 private:
  void ChooseObservers(const std::vector<std::vector<MemberIndex>>& rings);
  void InvertToSubjects();

  int k_ = 0;
  std::vector<std::string> ids_;
  std::vector<MemberIndex> observers_;        // size() rows of observer_count_ entries
  std::uint32_t observer_count_ = 0;          // min(K, N - 1)
  std::vector<std::uint32_t> subject_begin_;  // size() + 1 offsets into subjects_
  std::vector<MemberIndex> subjects_;
  std::vector<MemberIndex> ring0_;  // the members in ring-0 order
  std::array<std::uint32_t, 256> bucket_count_{};
  std::array<std::uint64_t, 256> bucket_sum_{};
};

}  // namespace vigil::membership
