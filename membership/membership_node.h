// One member of a cluster, sans-I/O: heartbeats its observers, watches its subjects with
// vigil's own detectors, reports the ones it convicts, floods the reports it learns and takes
// members out when the cut detector says enough observers agree (docs/membership.md).
//
// A member starts from a member list, or joins through seeds and copies the list from the
// members (docs/membership.md, "Joining"); a member taken out comes back with a newer
// incarnation ("Coming back"); members compare their lists and pull what differs
// ("Anti-entropy"). The shell (vigil-sim today, vigild later) moves the messages and calls
// Tick at NextWakeup().
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/time.h"
#include "detector/detector_options.h"
#include "detector/peer_monitor.h"
#include "membership/contact_book.h"
#include "membership/cut_detector.h"
#include "membership/graph_source.h"
#include "membership/member_status.h"
#include "membership/member_sync.h"
#include "membership/membership_options.h"
#include "membership/messages.h"
#include "membership/observer_graph.h"
#include "membership/replay_guard.h"
#include "membership/tombstones.h"

namespace vigil::membership {

// What a node asks its shell to send. Cleared by the shell after sending.
struct Outbox {
  std::vector<std::string> heartbeats;  // one heartbeat to each
  std::uint64_t heartbeat_sequence = 0;      // ... with this sequence number
  std::uint64_t heartbeat_incarnation = 0;   // ... and incarnation
  std::vector<std::pair<std::string, Gossip>> gossip;  // to, what
  Gossip& To(const std::string& to);
  void clear() { heartbeats.clear(); gossip.clear(); }
};

// Not thread-safe; one owner. `source` must outlive the node. The `now` of successive calls
// must not decrease. The removal and readmission callbacks must not call back into the node.
class MembershipNode {
 public:
  // Starts from `view`, which must hold options.self and have options.observers per member.
  // Requires options.interval > 0, probe_interval > 0, tombstone_lifetime > 0,
  // admission_batch, pass_on_gather and notice_repeat >= 0, 0 < report_repeat <
  // cut.report_lifetime, 0 < corroborated_level <= 1 and corroboration_wait >= 0.
  MembershipNode(MembershipOptions options, std::shared_ptr<const ObserverGraph> view,
                 GraphSource& source, MonoTime now);
  // Joins through options.seeds: starts as the only member of its view, asks the seeds to
  // admit it (a Join), and once welcomed pulls the member list and applies it as one
  // graph change. Requires what the other constructor does (but a view), join_retry,
  // join_retry_max and join_patience > 0.
  MembershipNode(MembershipOptions options, GraphSource& source, MonoTime now);
  ~MembershipNode();

  // A membership datagram's records, from `from` with `stamp`, authenticated by the shell
  // and sent from `contact`: taken (OnGossip) if fresh (ReplayGuard: its echo names this
  // node's run and its number was not seen). An unconfirmed one is answered, twice a second
  // per sender at most, with this node's own Alive record, so that the sender learns the
  // incarnation to echo; one that echoes an incarnation above this node's (its clock went
  // back) makes it refute above that. A joiner answered so asks that member to admit it at
  // once. Returns the verdict.
  Freshness ReceiveGossip(const Gossip& gossip, std::string_view from, const Stamp& stamp,
                          MonoTime now, Outbox& out, std::string_view contact = {});
  // A member's heartbeat, as ReceiveGossip: taken (OnHeartbeat) if fresh, answered if
  // unconfirmed.
  Freshness ReceiveHeartbeat(std::string_view from, const Stamp& stamp, MonoTime now,
                             Outbox& out, std::string_view contact = {});
  // The echo to stamp on what goes to `to`: the newest incarnation of it this node knows
  // (held, taken out, or stamped on a datagram it sent); 1 for a member of the view never
  // heard (a view given at the start holds members at their first incarnation); 0 if none
  // (a seed not yet heard).
  std::uint64_t EchoFor(const std::string& to) const;
  // The stamp of the next membership datagram to `to`: this node's incarnation, the number
  // (ReplayGuard::NextNumber) and EchoFor(to). The shell numbers the datagrams it sends `to`
  // from stamp.sequence on, and says how many with Sent.
  Stamp StampFor(const std::string& to) const;
  void Sent(const std::string& to, std::size_t datagrams, MonoTime now) {
    guard_.Numbered(to, datagrams, now);
  }
  // What ReceiveHeartbeat does with a fresh heartbeat (tests call it directly):
  // a heartbeat from `from` (already authenticated by the shell), sent from `contact`; from
  // a subject, a number seen before in its incarnation is refused (heartbeats_refused), and
  // only a new one says where it is. From a member this node took out: at a newer
  // incarnation than it was taken out at, it comes back (and the whole cluster is told); at
  // that one or older, it is told it is out (a notice: a report about itself, at most once
  // per notice_repeat), so that it refutes.
  void OnHeartbeat(std::string_view from, std::uint64_t incarnation, std::uint64_t sequence,
                   MonoTime now, Outbox& out, std::string_view contact = {});
  // What ReceiveGossip does with a fresh datagram's records (tests call it directly).
  // Gossip received from `from`: a Join admits its sender (told to the whole cluster) and
  // is answered with a Welcome (a census and a sample of members); a Pull is answered with
  // the members and tombstones of its buckets and their census; a listing (Member, Removed,
  // Census) feeds this node's own join. New reports are counted and passed on; a report about
  // this node is refuted (answered with the current incarnation if refuted already, and its
  // reporter, if this node took it out, told so); new refutations withdraw the reports they
  // void and are passed on. A newer incarnation also counts, for an observer that had
  // convicted that member, as a sign of life; of a member this node took out, newer than it
  // was taken out at, it brings it back.
  void OnGossip(const Gossip& gossip, std::string_view from, MonoTime now, Outbox& out);
  // Sends the heartbeats that are due, evaluates the subjects, sends a probe if one is due,
  // passes on the news gathered (pass_on_gather), applies a ready cut and the members coming
  // back whose batch is due.
  void Tick(MonoTime now, Outbox& out);
  // When Tick next has something to do.
  MonoTime NextWakeup() const;
  // This member leaves the cluster (vigild stops): it tells its neighbours (observers and
  // subjects) that it leaves at its incarnation, and they flood that on. Its observers
  // report it at once, so it is taken out as soon as H agree, without waiting for a
  // detector, and every member that heard it marks it left (docs/membership.md, "Leaving").
  // The shell sends `out` (a second time is harmless: a repeat is ignored) and then calls
  // nothing else. A member still joining, with no neighbours, says nothing.
  void Leave(Outbox& out);
  // This node was not running for a while (stopped, starved): the silence of its subjects
  // until their next heartbeats is not learnt as an interval (PeerMonitor's).
  void MarkObservationGap();
  // This node's own health is in doubt until `until` (a stall, an overflowing socket): it
  // abstains, as in Lifeguard. Its detectors go on, but it reports nobody; a subject still
  // convicted at `until` is reported then. An earlier `until` changes nothing.
  void AbstainUntil(MonoTime until);

  // The current member list and graph, valid until a call that may apply a cut (OnGossip,
  // Tick); hold view_shared() to keep it longer.
  const ObserverGraph& view() const { return *graph_; }
  std::shared_ptr<const ObserverGraph> view_shared() const { return graph_; }
  const std::string& self() const { return options_.self; }
  // Where `member` is (this node's own contact for itself): as the newest Join, Member or
  // Alive record that named one said it, or as LearnContact gave it; empty if unknown.
  // Valid until the next call that takes gossip or a contact.
  std::string_view Contact(std::string_view member) const;
  // The shell got a membership datagram of `member` at `incarnation` from `contact`: a
  // guess, kept only until anything else says where it is (a replay from elsewhere must
  // not move a member; ContactBook).
  void LearnContact(const std::string& member, std::string_view contact,
                    std::uint64_t incarnation);
  std::size_t contact_count() const { return contacts_.size(); }
  // Called with each member this node takes out, when it does, and with each it adds back.
  using MemberCallback = std::function<void(const std::string&, MonoTime)>;
  void set_on_removed(MemberCallback f) { on_removed_ = std::move(f); }
  void set_on_readmitted(MemberCallback f) { on_readmitted_ = std::move(f); }
  // Subjects this node watches now, cuts it applied, its incarnation.
  std::size_t subject_count() const { return subjects_.size(); }
  std::uint64_t cuts() const { return cuts_; }
  std::uint64_t incarnation() const { return incarnation_; }
  // The newest incarnation of `member` this node knows or heard (0 if none).
  std::uint64_t IncarnationOf(const std::string& member) const {
    return member == options_.self ? incarnation_ : NewestIncarnation(member);
  }
  std::uint64_t refutations() const { return refutations_; }
  // Datagrams refused by ReplayGuard, by stream and verdict, and the answers sent to
  // unconfirmed ones.
  std::uint64_t refused(Stream stream, Freshness why) const {
    return refused_[static_cast<std::size_t>(stream)][static_cast<std::size_t>(why)];
  }
  std::uint64_t unconfirmed_answered() const { return unconfirmed_answered_; }
  // Subjects' heartbeats refused by OnHeartbeat: an older incarnation's, or a number seen
  // (a replay); ReceiveHeartbeat counts those it refuses itself under refused().
  std::uint64_t heartbeats_refused() const { return heartbeats_refused_; }
  // Times this node convicted a subject (by detector or corroboration); of those, the latter.
  std::uint64_t convictions() const { return convictions_; }
  std::uint64_t corroborated_convictions() const { return corroborated_convictions_; }
  // Reports this node held back while abstaining: each conviction or repeat that fell due
  // in the doubt (one held past an extended doubt counts again).
  std::uint64_t abstentions() const { return abstentions_; }
  // Members this node added back, and the times it told a member taken out that it is out.
  std::uint64_t readmissions() const { return readmissions_; }
  std::uint64_t notices_sent() const { return notices_sent_; }
  // Members taken out and still remembered; whether `id` is one; f(id, incarnation taken
  // out at, whether it left) for each.
  std::size_t tombstone_count() const { return tombstones_.size(); }
  bool taken_out(const std::string& id) const { return tombstones_.Holds(id); }
  template <typename F>
  void ForEachTakenOut(F&& f) const {
    tombstones_.ForEach([&](const std::string& id, const Tombstones::Entry& e) {
      f(id, e.incarnation, e.left);
    });
  }
  // Whether `id`, taken out and remembered, had said it was leaving (where that was heard).
  bool left(const std::string& id) const;
  // membership/member_status.cc: what this node holds of `id` (nullopt: neither held nor
  // remembered as taken out), and of all (cost: the tombstones held).
  std::optional<MemberStatus> StatusOf(const std::string& id) const;
  ClusterCounts Counts() const;
  // Joining: whether a member welcomed this one (always, for a node built with a view), and
  // whether it still copies the member list (it watches nobody meanwhile).
  bool welcomed() const { return welcomed_; }
  bool syncing() const { return syncing_; }
  // Joins and Pulls answered; listings dropped over listings_per_second; tombstones not
  // learnt from a listing, over most_tombstones.
  std::uint64_t joins_answered() const { return joins_answered_; }
  std::uint64_t pulls_answered() const { return pulls_answered_; }
  std::uint64_t listings_refused() const { return listings_refused_; }
  std::uint64_t tombstones_refused() const { return tombstones_refused_; }
  const MemberSync& sync() const { return sync_; }
  // Anti-entropy: digests sent, and digests received that differed from this node's;
  // disputes (see dispute_wait) opened, and those that ended with the member taken out here.
  std::uint64_t digests_sent() const { return digests_sent_; }
  std::uint64_t digest_mismatches() const { return digest_mismatches_; }
  std::uint64_t disputes() const { return disputes_; }
  std::uint64_t disputes_lost() const { return disputes_lost_; }

 private:
  struct Subject;
  class Sink;

  void Rewatch(MonoTime now);
  // Takes this node's neighbours from the current graph (once per graph, not per message).
  void SetNeighbours();
  // Its detector convicts `subject`: reported now, and every report_repeat while it does.
  void Convict(const std::string& subject, Subject& watched, MonoTime now, Outbox& out);
  // Reports `subject` once, at the newest incarnation known and at least `at_least`.
  void SendReport(const std::string& subject, Subject& watched, std::uint64_t at_least,
                  MonoTime now, Outbox& out);
  void Learn(const Report& report, std::string_view from, MonoTime now, Outbox& out);
  void Learn(const Alive& alive, std::string_view from, MonoTime now, Outbox& out);
  // membership/corroboration.cc: notes `report`; counts what corroborates `subject`, or all.
  void Corroborate(const Report& report, MonoTime now);
  void Corroborate(const std::string& subject, MonoTime now);
  void Recorroborate(MonoTime now);
  void Refute(const Report& report, MonoTime now, Outbox& out);
  // membership/pass_on.cc, the flood: news gathered for pass_on_gather, then sent.
  void PassOn(const Report& report, std::string_view from, MonoTime now, Outbox& out);
  void PassOn(const Alive& alive, std::string_view from, MonoTime now, Outbox& out,
              bool leave = false);
  void SendPassedOn(Outbox& out);  // now: one Gossip per neighbour
  // The highest incarnation of `member` this node knows of; 0 if none.
  std::uint64_t KnownIncarnation(const std::string& member) const;
  // ... or has heard in a heartbeat, if it watches `member`.
  std::uint64_t NewestIncarnation(const std::string& member) const;
  // Applies a ready cut and the admissions that are due: one graph change; TakeOut, the
  // members it takes out (with the reports that agreed of each: agreed, of observers).
  void ApplyCut(MonoTime now, Outbox& out);
  using Agreement = std::unordered_map<std::string_view, std::pair<int, int>>;
  void TakeOut(const std::vector<std::string>& gone, const Agreement& agreement,
               const std::vector<Alive>& lost, MonoTime now);
  // membership/rejoin.cc: members taken out, and coming back.
  void HeartbeatFromStranger(const std::string& from, std::uint64_t incarnation, MonoTime now,
                             Outbox& out);
  // Tells `member`, taken out, that it is, at most once per notice_repeat for each cause.
  enum class NoticeCause { kHeard, kProbe };
  void Notify(const std::string& member, NoticeCause cause, MonoTime now, Outbox& out);
  // Every probe_interval, notifies at random one taken out that it neighboured then.
  void Probe(MonoTime now, Outbox& out);
  // An Alive about a member this node may have taken out: false if it did not (the caller
  // goes on); else true, and the member comes back if the incarnation is newer.
  bool AliveAfterRemoval(const Alive& alive, std::string_view from, MonoTime now,
                         Outbox& out);
  void Readmit(const Alive& alive, std::string_view from, MonoTime now, Outbox& out);
  // Tells each member just added back that this node now neighbours what else came back
  // lately: it was out while those floods went round.
  void TellReturning(const std::vector<std::string>& added, MonoTime now, Outbox& out);
  // The incarnation each member of `gone` is taken out at: the newest this node has heard
  // of (reports held, refutations, its own detector). Keys view `gone`.
  std::unordered_map<std::string_view, std::uint64_t> RemovedIncarnations(
      const std::vector<std::string>& gone) const;
  void ForgetOldSeen(MonoTime now);
  // membership/join.cc: joining, and helping others join.
  void Admit(const Alive& alive, std::string_view from, bool flood, MonoTime now, Outbox& out);
  void AskToJoin(MonoTime now, Outbox& out);
  void SyncStep(MonoTime now, Outbox& out);
  void OnJoin(const Alive& join, std::string_view from, MonoTime now, Outbox& out);
  void OnPull(const Pull& pull, std::string_view from, MonoTime now, Outbox& out);
  void OnListing(const Gossip& gossip, std::string_view from, MonoTime now, Outbox& out);
  void LearnListed(const Alive& member, std::string_view from, MonoTime now, Outbox& out);
  // `left`: a Left record (the member left), else a Removed one.
  void LearnRemoved(const Alive& removed, bool left, MonoTime now, Outbox& out);
  // Whether a Welcome or a Pull's answer may go now (listings_per_second).
  bool ListingAllowed(MonoTime now);
  // `id` at `incarnation`, with its contact: how a member is listed.
  Alive Listed(const std::string& id, std::uint64_t incarnation) const;
  // Keeps the contacts the Join, Member and Alive records of `gossip` name.
  void NoteContacts(const Gossip& gossip, std::string_view from);
  // After a view change, or once the book outgrew what is held several times over: forgets
  // the contacts, and the numbers seen (ReplayGuard, idle for tombstone_lifetime), of
  // members neither held, coming in, taken out nor disputed.
  void PruneContacts(MonoTime now);
  // membership/receive.cc: tells `sender`, whose datagram from `contact` was unconfirmed,
  // this node's incarnation (twice a second at most), or refutes above the echo.
  void Unconfirmed(const std::string& sender, const Stamp& stamp, MonoTime now, Outbox& out,
                   std::string_view contact);
  // A member this node knows, drawn at random (not itself; "" if none): where to pull.
  std::string RandomMember();
  std::uint64_t NextRandom();
  // membership/anti_entropy.cc.
  struct BucketTally;
  static constexpr std::size_t kMostSummaryBucketsPerRecord = 128;
  BucketTally Tally() const;
  void AntiEntropy(MonoTime now, Outbox& out);
  void SendSummary(const std::string& to, std::uint8_t first, std::size_t n, bool answer_back,
                   const BucketTally& tally, Outbox& out);
  void OnDigest(const Digest& digest, std::string_view from, MonoTime now, Outbox& out);
  void OnSummary(const Summary& summary, std::string_view from, MonoTime now, Outbox& out);
  void BeBusy(MonoTime now);
  // membership/leave.cc: a member's word that it leaves; whether `id` said it leaves at
  // `incarnation` or later, within report_lifetime; older leaves are forgotten.
  void LearnLeave(const Alive& leave, std::string_view from, MonoTime now, Outbox& out);
  // Remembers that `member` left at `incarnation` (to label its removal) unless a leave
  // heard within report_lifetime is remembered and it showed no newer one since; whether so.
  bool RememberLeave(const Alive& leave, MonoTime now);
  bool Leaving(const std::string& id, std::uint64_t incarnation, MonoTime now) const;
  void ForgetOldLeaves(MonoTime now);
  // membership/dispute.cc.
  void Dispute(const Alive& removed, MonoTime now, Outbox& out);
  void SettleDisputes(MonoTime now, Outbox& out);
  MonoTime NextDisputeDeadline() const;

  MembershipOptions options_;
  GraphSource& source_;
  std::shared_ptr<const ObserverGraph> graph_;
  MemberIndex self_index_ = 0;
  std::vector<std::string> neighbours_;  // observers and subjects: the flooding graph
  std::unique_ptr<CutDetector> cut_;
  std::unordered_map<std::string, std::unique_ptr<Subject>> subjects_;
  // Reports counted under the current graph, to count again under the next one.
  std::deque<std::pair<Report, MonoTime>> held_;
  std::unordered_set<std::uint64_t> seen_;  // reports seen (Learn's fingerprints)
  std::deque<std::pair<MonoTime, std::uint64_t>> seen_order_;
  MonoTime next_heartbeat_ = kNever;
  std::uint64_t sequence_ = 0;
  std::uint64_t incarnation_ = 1;
  std::uint64_t refuted_below_ = 0;  // reports of older incarnations are refuted already
  std::uint64_t cuts_ = 0;
  std::uint64_t refutations_ = 0;
  std::uint64_t convictions_ = 0, corroborated_convictions_ = 0;
  std::uint64_t heartbeats_refused_ = 0;
  std::uint64_t abstentions_ = 0;
  MonoTime abstain_until_ = MonoTime::min();
  // Incarnations learnt from refutations (sparse: most members never refute).
  std::unordered_map<std::string, std::uint64_t> incarnations_;
  // Members taken out; members coming back at admit_at_ (ascending).
  Tombstones tombstones_;
  ContactBook contacts_;
  ReplayGuard guard_;
  // By Stream, by Freshness (kFresh unused).
  std::array<std::array<std::uint64_t, kFreshnessCount>, kStreamCount> refused_{};
  std::uint64_t unconfirmed_answered_ = 0;
  bool prune_contacts_ = false;  // a view change happened: PruneContacts at the next Tick
  std::size_t prune_guard_at_ = 0;  // ... or once guard_ holds more (doubled at each prune)
  std::vector<std::string> admissions_;
  std::unordered_set<std::string> admitting_;  // admissions_, as a set
  std::deque<std::pair<MonoTime, Alive>> returned_;  // came back within report_lifetime
  std::vector<std::tuple<Alive, std::string, bool>> alives_to_pass_;  // what, from, a leave
  std::vector<std::pair<Report, std::string>> reports_to_pass_;
  MonoTime pass_on_at_ = kNever;
  MonoTime admit_at_ = kNever;
  std::uint64_t readmissions_ = 0;
  std::uint64_t notices_sent_ = 0;
  MonoTime next_probe_ = kNever;
  std::uint64_t probe_state_;  // a splitmix64 state, seeded by this node's id
  // Joining.
  bool welcomed_ = true;
  bool syncing_ = false;
  MemberSync sync_;
  std::size_t next_seed_ = 0;
  Duration join_delay_{};
  MonoTime next_join_ = kNever;
  MonoTime patience_until_ = kNever;
  MonoTime listing_window_ = MonoTime::min();  // the second listings_in_window_ counts
  int listings_in_window_ = 0;
  std::uint64_t joins_answered_ = 0;
  std::uint64_t pulls_answered_ = 0;
  std::uint64_t listings_refused_ = 0;
  std::uint64_t tombstones_refused_ = 0;
  MonoTime next_digest_ = kNever;
  MonoTime busy_until_ = MonoTime::min();
  std::uint64_t digests_sent_ = 0;
  std::uint64_t digest_mismatches_ = 0;
  struct OpenDispute {
    std::uint64_t incarnation = 0;  // the listing's
    MonoTime next_notice{};
    MonoTime decide_at{};
    std::uint32_t notices = 0;
  };
  std::unordered_map<std::string, OpenDispute> disputes_open_;
  std::vector<Alive> lost_disputes_;  // taken out at the next view change, at that incarnation
  std::uint64_t disputes_ = 0;
  std::uint64_t disputes_lost_ = 0;
  // Members in the view that said they leave: at what incarnation, and when it was heard.
  struct LeaveHeard { std::uint64_t incarnation = 0; MonoTime at{}; };
  std::unordered_map<std::string, LeaveHeard> leaving_;
  std::deque<std::pair<MonoTime, std::string>> leaving_order_;
  EventIdSource event_ids_;
  MemberCallback on_removed_;
  MemberCallback on_readmitted_;
};

}  // namespace vigil::membership
