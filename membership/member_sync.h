// How a joining member copies the member list: a slice of buckets at a time, pulled from
// several members it knows, so that no member serves a whole list (docs/membership.md,
// "Joining"). Sans-I/O: fed the Census and Member records that arrive and the time, it says
// which pulls to send. MembershipNode owns one while it joins.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/time.h"
#include "membership/messages.h"

namespace vigil::membership {

// Not thread-safe; one owner.
class MemberSync {
 public:
  struct Options {
    // Bucket ranges are planned to hold about this many members each (one answer of a few
    // datagrams).
    std::size_t members_per_pull = 200;
    // At most this many pulls wait for their answer at a time.
    std::size_t in_flight = 4;
    // A pull unanswered (or answered short: a datagram lost) this long is sent again,
    // elsewhere, cut in two if it spans more than one bucket. Requires > 0.
    Duration timeout = std::chrono::seconds(1);
  };
  explicit MemberSync(Options options);

  // A Welcome's census: `count` live members. Plans the pulls that cover buckets 0 .. 255;
  // only the first call does.
  void Plan(std::uint32_t count);
  bool planned() const { return planned_; }
  // Every bucket has been answered in full.
  bool done() const { return planned_ && queued_.empty() && waiting_.empty(); }

  // The pulls to send now (to whom, what): answers overdue are queued again, then pulls are
  // taken from the queue while fewer than in_flight wait, each to a member `pick` draws (it
  // returns "" when it knows none; nothing is sent then).
  std::vector<std::pair<std::string, Pull>> Due(MonoTime now,
                                                const std::function<std::string()>& pick);
  // A Member record, from `from`, of a member in bucket `bucket`.
  void OnMember(std::string_view from, std::uint8_t bucket);
  // A Census (not a Welcome) from `from`. A range whose census counts more than kMostListed
  // members is cut in two at once; a single bucket that does is done with kMostListed.
  void OnCensus(std::string_view from, const Census& census);
  // When Due next has an answer to give up on; kNever if none waits.
  MonoTime NextDeadline() const;
  // Pulls sent, and pulls sent again after a timeout.
  std::uint64_t pulls_sent() const { return pulls_sent_; }
  std::uint64_t pulls_retried() const { return pulls_retried_; }

 private:
  struct Waiting {
    std::string target;
    Pull range;
    MonoTime deadline;
    std::uint32_t received = 0;
    std::int64_t expected = -1;  // the census's count; -1 before it came
  };
  void CompleteIfAnswered(std::size_t w);

  Options options_;
  bool planned_ = false;
  std::vector<Pull> queued_;
  std::vector<Waiting> waiting_;
  std::uint64_t pulls_sent_ = 0;
  std::uint64_t pulls_retried_ = 0;
};

}  // namespace vigil::membership
