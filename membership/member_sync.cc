#include "membership/member_sync.h"

#include <algorithm>
#include <cassert>

namespace vigil::membership {
namespace {

// The last bucket of the first half of `range` (which spans more than one).
std::uint8_t Middle(const Pull& range) {
  return static_cast<std::uint8_t>(range.first + (range.last - range.first) / 2);
}

}  // namespace

MemberSync::MemberSync(Options options) : options_(options) {
  assert(options_.timeout > Duration::zero());
  assert(options_.members_per_pull > 0 && options_.in_flight > 0);
}

void MemberSync::Plan(std::uint32_t count) {
  if (planned_) return;
  planned_ = true;
  // Buckets hold count / 256 members each, on average.
  const std::size_t width = std::clamp<std::size_t>(
      options_.members_per_pull * 256 / std::max<std::size_t>(count, 1), 1, 256);
  for (std::size_t first = 0; first < 256; first += width) {
    const std::size_t last = std::min<std::size_t>(first + width, 256) - 1;
    queued_.push_back(Pull{static_cast<std::uint8_t>(first), static_cast<std::uint8_t>(last)});
  }
  // Taken from the back: the buckets go in ascending order.
  std::reverse(queued_.begin(), queued_.end());
}

std::vector<std::pair<std::string, Pull>> MemberSync::Due(
    MonoTime now, const std::function<std::string()>& pick) {
  for (std::size_t w = 0; w < waiting_.size();) {
    if (now < waiting_[w].deadline) {
      ++w;
      continue;
    }
    // Unanswered or short: again, elsewhere; halves, in case the answer was too big.
    const Pull range = waiting_[w].range;
    if (range.first < range.last) {
      queued_.push_back(Pull{static_cast<std::uint8_t>(Middle(range) + 1), range.last});
      queued_.push_back(Pull{range.first, Middle(range)});
    } else {
      queued_.push_back(range);
    }
    ++pulls_retried_;
    waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(w));
  }
  std::vector<std::pair<std::string, Pull>> send;
  while (!queued_.empty() && waiting_.size() < options_.in_flight) {
    std::string target = pick();
    if (target.empty()) break;
    const Pull range = queued_.back();
    queued_.pop_back();
    waiting_.push_back(Waiting{target, range, AddSaturated(now, options_.timeout)});
    send.emplace_back(std::move(target), range);
    ++pulls_sent_;
  }
  return send;
}

void MemberSync::OnMember(std::string_view from, std::uint8_t bucket) {
  for (std::size_t w = 0; w < waiting_.size(); ++w) {
    Waiting& waiting = waiting_[w];
    if (waiting.target != from || bucket < waiting.range.first || bucket > waiting.range.last) {
      continue;
    }
    ++waiting.received;
    CompleteIfAnswered(w);
    return;
  }
}

void MemberSync::OnCensus(std::string_view from, const Census& census) {
  for (std::size_t w = 0; w < waiting_.size(); ++w) {
    Waiting& waiting = waiting_[w];
    if (waiting.target != from || census.first != waiting.range.first ||
        census.last != waiting.range.last) {
      continue;
    }
    const Pull range = waiting.range;
    if (census.count > kMostListed && range.first < range.last) {
      // More than one answer lists: cut in two now, rather than wait for the timeout.
      waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(w));
      queued_.push_back(Pull{static_cast<std::uint8_t>(Middle(range) + 1), range.last});
      queued_.push_back(Pull{range.first, Middle(range)});
      return;
    }
    waiting.expected = census.count;
    CompleteIfAnswered(w);
    return;
  }
}

void MemberSync::CompleteIfAnswered(std::size_t w) {
  const Waiting& waiting = waiting_[w];
  // One bucket of more than kMostListed members cannot be had whole from one answer: what
  // one answer lists will do, and anti-entropy brings the rest.
  const std::int64_t enough = std::min<std::int64_t>(waiting.expected, kMostListed);
  if (waiting.expected < 0 || waiting.received < enough) return;
  waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(w));
}

MonoTime MemberSync::NextDeadline() const {
  MonoTime next = kNever;
  for (const Waiting& w : waiting_) next = std::min(next, w.deadline);
  return next;
}

}  // namespace vigil::membership
