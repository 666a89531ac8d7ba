// How a cluster member runs (MembershipNode's options): K, the cut, the intervals and limits
// of joining, coming back, anti-entropy and disputes (docs/membership.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/time.h"
#include "detector/detector_options.h"
#include "membership/cut_detector.h"
#include "membership/member_sync.h"

namespace vigil::membership {

// The detector an observer runs on each subject: vigil's adaptive detector, allowed 3 false
// convictions per subject-hour instead of 0.25. A conviction is only a report: H observers
// must agree and a live subject refutes, so an observer can afford to be quicker
// (docs/membership.md, "Why the observers' detector is quicker").
DetectorOptions ObserverDetectorDefaults();

struct MembershipOptions {
  std::string self;
  // Where this member is, listed with it (ContactBook; at most kMaxContactSize bytes).
  std::string contact;
  // K: observers per member.
  int observers = 8;
  CutOptions cut;
  // How often a member heartbeats each of its observers.
  Duration interval = std::chrono::seconds(1);
  // The detector each observer runs per subject.
  DetectorOptions detector = ObserverDetectorDefaults();
  // A subject this node starts to watch and never hears is convicted this long after.
  Duration first_heartbeat_grace = std::chrono::seconds(5);
  // While its detector still convicts a subject, the observer repeats its report this often
  // (well within the cut's report_lifetime, so a real failure is never forgotten).
  Duration report_repeat = std::chrono::seconds(4);
  // Members coming back are added to the graph this long after the first of them is known,
  // together: one graph change for the members of a batch (at every node that hears of the
  // same members in the same batch, the same change).
  Duration admission_batch = std::chrono::milliseconds(250);
  // A member taken out is told so at most this often for what this node heard from it (a
  // heartbeat, a report), and at most this often again by this node's probes.
  Duration notice_repeat = std::chrono::seconds(5);
  // While it remembers members taken out that it neighboured then, a member draws one of
  // them at random this often and tells it that it is out (unless it probed that one within
  // notice_repeat): one cut off by a partition that has healed hears it, and comes back.
  Duration probe_interval = std::chrono::seconds(1);
  // A member passes on the news it floods (reports, refutations, members coming back)
  // gathered over this long, in one datagram per neighbour rather than one per news: a
  // mass failure brings hundreds of reports at once, a healed partition thousands of
  // comebacks. Each hop of the flood waits this long at most.
  Duration pass_on_gather = std::chrono::milliseconds(20);
  // Corroboration: an observer that holds reports of its subject from L other observers
  // convicts it once its own detector's level reaches this fraction of the detector's
  // threshold (docs/membership.md, "Corroboration"). 1 = no sooner than alone. In (0, 1].
  double corroborated_level = 0.5;
  // ... but not before this long after the L-th report came: a live subject, told at the
  // same time, refutes to its observers first. >= 0.
  Duration corroboration_wait = std::chrono::milliseconds(250);
  // How long a member taken out is remembered (its incarnation, against stale messages).
  Duration tombstone_lifetime = std::chrono::hours(24);
  // This member's incarnation when it starts: higher than any it had before (vigild takes
  // the time in microseconds), so that a member that restarts is not taken for its past.
  // Requires > 0.
  std::uint64_t incarnation = 1;

  // Joining (the joining constructor): the members asked to admit this one, in turn (ids;
  // the shell knows their addresses); this member's own id among them is skipped.
  std::vector<std::string> seeds;
  // Until one welcomes it, a joining member asks its seeds in turn, join_retry apart; after
  // each round of all its seeds the delay doubles, up to join_retry_max (±20 % each time).
  // Both > 0.
  Duration join_retry = std::chrono::seconds(1);
  Duration join_retry_max = std::chrono::seconds(5);
  // Welcomed by nobody for this long, a joining member starts as the only member of its own
  // cluster (the first seed of a cold start), and goes on asking.
  Duration join_patience = std::chrono::seconds(3);
  // How a joining member pulls the member list.
  MemberSync::Options sync;
  // At most this many Joins are welcomed, and Pulls and Digests answered, per second (a
  // Welcome is one datagram, an answer a few); beyond, they are counted and dropped (the
  // joiner asks again). A cold start of 10,000 on 3 seeds welcomes about 670 a second.
  int listings_per_second = 1000;
  // Anti-entropy: every digest_interval a member sends a random member its digest; for a
  // digest_interval after they found a difference, every digest_interval_busy. Both > 0.
  Duration digest_interval = std::chrono::seconds(2);
  Duration digest_interval_busy = std::chrono::milliseconds(250);
  // A listing says a member this node holds was taken out (a removal this node missed, or a
  // stale one): this node tells that member (a report about itself, at the start and every
  // dispute_wait / 3) and, after dispute_wait, takes it out unless it has heard a newer
  // incarnation of it, or watches it and hears it. At most disputes_open at a time. > 0.
  Duration dispute_wait = std::chrono::seconds(6);
  std::size_t disputes_open = 64;
  // A member keeps at most this many tombstones learnt from listings (its own removals are
  // always kept).
  std::size_t most_tombstones = 20000;
  // A member that adds more than `observers` members to its graph at once abstains this
  // long: its new graph may not yet be every other member's (a cold start, a healed
  // partition), and a subject's heartbeats may go to observers that differ for a while.
  Duration bulk_abstain = std::chrono::seconds(10);
};

}  // namespace vigil::membership
