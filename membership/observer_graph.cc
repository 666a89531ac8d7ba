#include "membership/observer_graph.h"

#include <algorithm>
#include <cassert>
#include <numeric>

namespace vigil::membership {

ObserverGraph ObserverGraph::Build(std::vector<std::string> members, int observers) {
  assert(observers >= 1 && observers <= kMaxObservers);
  ObserverGraph graph;
  graph.k_ = observers;
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  graph.ids_ = std::move(members);
  const std::size_t n = graph.ids_.size();
  graph.observer_count_ =
      n == 0 ? 0 : static_cast<std::uint32_t>(std::min<std::size_t>(observers, n - 1));

  // Each ring: the members in ascending position. Ties (a 64-bit collision) go by id, which
  // is the index order, so a stable sort on the position alone gives them.
  std::vector<std::vector<MemberIndex>> rings(graph.observer_count_);
  std::vector<std::uint64_t> position(n);
  for (std::uint32_t r = 0; r < graph.observer_count_; ++r) {
    for (std::size_t m = 0; m < n; ++m) {
      position[m] = RingPosition(static_cast<int>(r), graph.ids_[m]);
    }
    rings[r].resize(n);
    std::iota(rings[r].begin(), rings[r].end(), MemberIndex{0});
    std::stable_sort(rings[r].begin(), rings[r].end(),
                     [&](MemberIndex a, MemberIndex b) { return position[a] < position[b]; });
  }
  for (std::size_t m = 0; m < n; ++m) {
    const std::uint64_t hash = RingPosition(0, graph.ids_[m]);
    ++graph.bucket_count_[hash >> 56];
    graph.bucket_sum_[hash >> 56] += hash;
  }
  if (!rings.empty()) {
    graph.ring0_ = rings[0];
  } else {  // one member, or none
    graph.ring0_.resize(n);
    std::iota(graph.ring0_.begin(), graph.ring0_.end(), MemberIndex{0});
  }
  graph.ChooseObservers(rings);
  graph.InvertToSubjects();
  return graph;
}

void ObserverGraph::ChooseObservers(const std::vector<std::vector<MemberIndex>>& rings) {
  const std::size_t n = ids_.size();
  const std::uint32_t count = observer_count_;
  observers_.assign(n * count, 0);
  std::vector<std::uint32_t> rank(n);
  for (std::uint32_t r = 0; r < count; ++r) {
    const auto& ring = rings[r];
    for (std::uint32_t at = 0; at < n; ++at) rank[ring[at]] = at;
    for (MemberIndex s = 0; s < n; ++s) {
      MemberIndex* chosen = &observers_[std::size_t{s} * count];
      std::size_t at = rank[s];
      while (true) {  // ends: fewer than n - 1 members are taken (count <= n - 1)
        at = (at + 1) % n;
        const MemberIndex candidate = ring[at];
        if (candidate == s) continue;
        if (std::find(chosen, chosen + r, candidate) != chosen + r) continue;
        chosen[r] = candidate;
        break;
      }
    }
  }
}

void ObserverGraph::InvertToSubjects() {
  const std::size_t n = ids_.size();
  subject_begin_.assign(n + 1, 0);
  for (MemberIndex o : observers_) ++subject_begin_[o + 1];
  for (std::size_t m = 0; m < n; ++m) subject_begin_[m + 1] += subject_begin_[m];
  subjects_.assign(observers_.size(), 0);
  std::vector<std::uint32_t> fill(subject_begin_.begin(), subject_begin_.end() - 1);
  // Subjects in ascending order: walk the subjects ascending and append.
  for (MemberIndex s = 0; s < n; ++s) {
    for (MemberIndex o : ObserversOf(s)) subjects_[fill[o]++] = s;
  }
}

std::optional<MemberIndex> ObserverGraph::Find(std::string_view id) const {
  const auto it = std::lower_bound(ids_.begin(), ids_.end(), id,
                                   [](const std::string& a, std::string_view b) { return a < b; });
  if (it == ids_.end() || *it != id) return std::nullopt;
  return static_cast<MemberIndex>(it - ids_.begin());
}

std::span<const MemberIndex> ObserverGraph::ObserversOf(MemberIndex subject) const {
  assert(subject < size());
  return {observers_.data() + std::size_t{subject} * observer_count_, observer_count_};
}

int ObserverGraph::ObserverSlot(MemberIndex subject, MemberIndex observer) const {
  const auto observers = ObserversOf(subject);
  const auto it = std::find(observers.begin(), observers.end(), observer);
  return it == observers.end() ? -1 : static_cast<int>(it - observers.begin());
}

std::span<const MemberIndex> ObserverGraph::SubjectsOf(MemberIndex observer) const {
  assert(observer < size());
  const std::uint32_t begin = subject_begin_[observer];
  return {subjects_.data() + begin, subject_begin_[observer + 1] - begin};
}

std::vector<MemberIndex> ObserverGraph::NeighboursOf(MemberIndex m) const {
  std::vector<MemberIndex> out(ObserversOf(m).begin(), ObserversOf(m).end());
  out.insert(out.end(), SubjectsOf(m).begin(), SubjectsOf(m).end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<MemberIndex> ObserverGraph::InBuckets(std::uint8_t first, std::uint8_t last) const {
  // A bucket is the top byte of the ring-0 position: buckets first .. last are one stretch
  // of ring 0.
  const auto bucket_below = [this](MemberIndex m, unsigned bucket) {
    return BucketOf(ids_[m]) < bucket;
  };
  const auto begin = std::partition_point(ring0_.begin(), ring0_.end(),
                                          [&](MemberIndex m) { return bucket_below(m, first); });
  const auto end = std::partition_point(begin, ring0_.end(), [&](MemberIndex m) {
    return bucket_below(m, unsigned{last} + 1);
  });
  return {begin, end};
}

}  // namespace vigil::membership
