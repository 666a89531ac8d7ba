// Verdicts by agreement: a member is taken out of the cluster only when enough of its
// observers report it, and concurrent failures are taken out together (multi-process cut
// detection, after Rapid, Suresh et al., USENIX ATC 2018; docs/membership.md, "Verdicts").
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/time.h"
#include "membership/observer_graph.h"

namespace vigil::membership {

struct CutOptions {
  // H: reports from this many distinct observers make a subject's failure stable.
  int high = 5;
  // L: from this many on, a subject's failure is in progress (unstable below H), and a cut
  // waits for it to settle so that concurrent failures leave together.
  int low = 2;
  // A cut waits until no subject has become unstable or stable for this long, so that
  // failures detected a little apart (observers' heartbeat phases differ) leave together.
  Duration settle = std::chrono::milliseconds(500);
  // A cut waits at most this long once one subject is stable, whatever is still unstable or
  // settling; then the stable ones go.
  Duration max_hold = std::chrono::seconds(2);
  // A report not renewed for this long is dropped: stray reports never add up over days.
  Duration report_lifetime = std::chrono::seconds(10);
};

// Tallies the failure reports one node has received under one observer graph and says when
// they add up to a cut. With k = the graph's observers per member (min(K, N - 1)), H and L
// are taken as min(H, k) and min(L, min(H, k)), so a small cluster needs every observer.
//
// Implicit reports (Rapid's rule for a subject whose observers fail with it): while a
// subject is unstable, each of its observers that is itself reported by at least L counts
// as reporting it, so a cut never waits on a dead observer.
//
// Reports name members by their index in the graph; a new graph (a membership change) needs
// a new CutDetector. Sans-I/O: time comes in as `now`, which must not decrease between calls.
// Not thread-safe. Holds a reference to `graph`, which must outlive it.
class CutDetector {
 public:
  // Requires 1 <= low <= high, settle >= 0 and positive max_hold and report_lifetime.
  CutDetector(const ObserverGraph& graph, CutOptions options);

  enum class ReportOutcome : std::uint8_t {
    kCounted,        // a new report from this observer
    kRenewed,        // the observer had reported it already: its lifetime starts again
    kNotAnObserver,  // the reporter does not watch the subject in this graph: ignored
    kTaken,          // the subject left in an earlier cut of this detector: ignored
  };
  // `observer` reports `subject` failed; `now` is when the report came (its lifetime starts
  // then). Expires old reports first. Requires both < graph.size().
  ReportOutcome Report(MemberIndex subject, MemberIndex observer, MonoTime now);

  // The subject showed it is alive (a refutation with a higher incarnation): every report
  // about it is dropped.
  void Withdraw(MemberIndex subject);

  // Drops the reports whose lifetime has run out by `now`.
  void Expire(MonoTime now);

  // The subjects that leave together, ascending, once the failures have settled at `now`:
  // some subject stable, none unstable and none newly unstable or stable for `settle`; or
  // max_hold after the first became stable (then only the stable ones). They are removed
  // from the tally. Empty while nothing is ready. Expires old reports first. If `agreed`
  // is given, it receives EffectiveReports of each subject taken, in the same order.
  std::vector<MemberIndex> TakeCut(MonoTime now, std::vector<int>* agreed = nullptr);

  // The next time TakeCut or Expire may give a different answer with no new report:
  // a past time when a cut is ready, kNever when nothing is pending.
  MonoTime NextDeadline() const;

  // Distinct observers whose reports about `subject` are held (implicit ones not counted).
  int ExplicitReports(MemberIndex subject) const;
  // Observers counted for `subject`, implicit ones included ("k of K agree").
  int EffectiveReports(MemberIndex subject) const;
  // Whether `subject`'s failure is in progress or stable: at least L observers count.
  bool Failing(MemberIndex subject) const;
  std::size_t stable_count() const { return stable_; }
  std::size_t unstable_count() const { return unstable_; }
  int high() const { return high_; }
  int low() const { return low_; }

 private:
  enum class Band : std::uint8_t { kQuiet, kUnstable, kStable };
  struct HeldReport {
    std::uint8_t slot;  // the observer's place in ObserversOf(subject)
    MonoTime at;
  };
  struct Tally {
    std::uint64_t mask = 0;  // bit i: ObserversOf(subject)[i] reported
    std::vector<HeldReport> reports;
    Band band = Band::kQuiet;
  };
  struct Expiry {
    MonoTime at;  // when the report was made
    MemberIndex subject;
    std::uint8_t slot;
  };

  // When a cut is ready with no new report: kNever if nothing is stable.
  MonoTime ReadyAt() const;
  std::uint64_t ImplicitMask(MemberIndex subject) const;
  Band Classify(MemberIndex subject, const Tally& tally) const;
  void Reclassify(MemberIndex subject);
  void SetBand(Tally& tally, Band band, MonoTime now);
  void DropReport(MemberIndex subject, std::uint8_t slot, MonoTime at);
  // After `subject`'s own count changed: its subjects' implicit reports may have too.
  void ReclassifySubjectsOf(MemberIndex subject, bool was_reported);
  bool IsReported(MemberIndex member) const;

  const ObserverGraph& graph_;
  CutOptions options_;
  int high_;
  int low_;
  std::unordered_map<MemberIndex, Tally> tallies_;
  std::deque<Expiry> expiries_;  // in report order, so oldest first
  std::size_t stable_ = 0;
  std::size_t unstable_ = 0;
  // Members taken in a cut: they still count as reported, for the implicit rule.
  std::unordered_set<MemberIndex> taken_;
  MonoTime first_stable_at_ = kNever;
  MonoTime last_rise_ = MonoTime::min();  // when a subject last became unstable or stable
  MonoTime now_ = MonoTime::min();
};

}  // namespace vigil::membership
