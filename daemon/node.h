// The heart of vigild, without any I/O: decoded datagrams in, peer states and events out.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "base/chunked_vector.h"
#include "base/id_index.h"
#include "config/config.h"
#include "daemon/clock.h"
#include "daemon/event_ring.h"
#include "daemon/persisted_state.h"
#include "daemon/remembered_table.h"
#include "detector/deadline_queue.h"
#include "detector/peer_monitor.h"
#include "detector/sequence_tracker.h"
#include "transport/keyring.h"
#include "transport/wire_format.h"

namespace vigil {

// Detector settings, shared by the peers that have the same (every enrolled peer has the
// `detector:` defaults: a million of them hold one copy).
using SharedDetectorOptions = std::shared_ptr<const DetectorOptions>;

// Everything vigild knows about one peer.
struct PeerRecord {
  // Judged with `options`, or with a copy of config.detector of its own if null.
  PeerRecord(PeerIndex index, const PeerConfig& config, Duration heartbeat_interval,
             SharedDetectorOptions options = nullptr);

  // Where a listed peer is configured to be; an enrolled peer has none (an empty host).
  const Endpoint& address() const;
  void set_address(const Endpoint& address);

  // Laid out to pack: a million enrolled peers hold one each (docs/benchmarks.md, memory).
  std::string id;
  SharedDetectorOptions detector_options;
  PeerMonitor monitor;
  SequenceTracker sequence;
  std::uint64_t heartbeats_received = 0;
  // When the last heartbeat of this run arrived (wall clock, for display); none yet: nullopt.
  std::optional<WallTime> last_heartbeat_wall() const {
    if (last_heartbeat_wall_ == WallTime::min()) return std::nullopt;
    return last_heartbeat_wall_;
  }
  void set_last_heartbeat_wall(WallTime at) { last_heartbeat_wall_ = at; }
  WallTime since_wall{};
  // What the previous run of vigild last knew (from the state file), until heard again. On
  // the heap: most peers have none most of the time.
  std::unique_ptr<PersistedPeer> previous;
  // The newest incarnation this peer proved (in a datagram that passed authentication and
  // the id and source checks) that it has: what we echo back to it, so it can tell our
  // datagrams are fresh (docs/protocol.md, "Echo").
  std::uint64_t echo = 0;
  // The incarnation of this peer whose datagrams echoed our own incarnation: proven to be
  // sent during this run of ours, not recorded earlier. 0: none yet.
  std::uint64_t confirmed_incarnation = 0;
  // The peer's place in the table, increasing along Node::peers(): a listed peer's position
  // in `peers:`, an enrolled one's kEnrolledOrderBase + its arrival number. A paging cursor
  // of GET /v1/peers, which stays valid while peers come and go.
  std::uint64_t order = 0;
  std::uint32_t sender_interval_us = 0;  // as the peer advertises it
  // Accepted by enrollment (config.enrollment), not listed in `peers:`: receive-only, no
  // address, judged with the `detector:` defaults, forgotten after enrollment.retention.
  bool enrolled = false;
  // The wire version we send this peer: 3, or 2 once an authentic datagram from its
  // address came as version 1 or 2 (an older vigil, which rejects version 3); back to 3 on
  // a fresh version 3 datagram.
  std::uint8_t wire_version = kWireVersion;

 private:
  std::unique_ptr<const Endpoint> address_;  // null for an enrolled peer
  WallTime last_heartbeat_wall_ = WallTime::min();  // min(): none yet
};

inline constexpr std::uint64_t kEnrolledOrderBase = std::uint64_t{1} << 40;

// The peer table: chunked, so enrolling the millionth peer moves no other (see
// ChunkedVector). Indexes are PeerIndex values.
using PeerTable = ChunkedVector<PeerRecord>;

// A run of consecutive peers of a PeerTable (its own type, not std::ranges::subrange, which
// clang 14 cannot instantiate with GCC 12's library).
struct PeerRange {
  PeerTable::const_iterator first;
  PeerTable::const_iterator last;
  PeerTable::const_iterator begin() const { return first; }
  PeerTable::const_iterator end() const { return last; }
  std::size_t size() const { return static_cast<std::size_t>(last - first); }
  bool empty() const { return first == last; }
};

// What a configuration change did.
struct ReconfigureSummary {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::string> retuned;   // detector changed in place, history kept
  std::vector<std::string> replaced;  // detector kind or history size changed: relearning
  std::vector<std::string> moved;     // address changed
};

struct NodeCounters {
  std::uint64_t datagrams_received = 0;
  std::uint64_t heartbeats_accepted = 0;
  std::uint64_t leaves_accepted = 0;
  std::uint64_t late_heartbeats = 0;  // reordered, inside the sequence window
  std::array<std::uint64_t, static_cast<std::size_t>(RejectReason::kCount)> rejected{};
  std::array<std::uint64_t, 5> transitions_to{};  // indexed by PeerState
  std::uint64_t peers_enrolled = 0;   // enrollments (a remembered peer heard again included)
  std::uint64_t peers_forgotten = 0;  // enrolled peers moved to the remembered table
  std::uint64_t remembered_refused = 0;  // not remembered: the table's 4 GiB were full
  std::uint64_t deadline_evaluations = 0;  // peers judged by RunDue (their deadline came)
};

// Tells whether a datagram claiming to come from a peer arrived from that peer's address
// (the daemon knows addresses; the Node does not).
class SourceMatcher {
 public:
  virtual ~SourceMatcher() = default;
  // True if the datagram being processed came from where `peer` is configured to be (or
  // if that cannot be known, e.g. a host name not yet resolved).
  virtual bool Matches(PeerIndex peer) const = 0;
};

// Hashes std::string keys so that lookups by string_view need no temporary string.
struct StringViewHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Owns the peers, their monitors, the deadline queue and the event ring. Time is always
// passed in; nothing here reads a clock or touches a socket. Single-threaded.
class Node final : private TransitionSink {
 public:
  using EventListener = std::function<void(const EventRecord&)>;
  // A heartbeat that passed every check arrived (new, or reordered but still news of life).
  using ArrivalListener = std::function<void(PeerIndex peer, std::uint64_t incarnation,
                                             std::uint64_t sequence, Timestamp at)>;

  // Requires a validated config. `started` is when the daemon started (the "since" of
  // peers never heard from).
  Node(const Config& config, Timestamp started);

  // Processes one received datagram. Returns the reason if it was rejected (counted
  // already); nullopt if it was accepted.
  std::optional<RejectReason> OnDatagram(std::span<const std::uint8_t> datagram, bool truncated,
                                         Timestamp now, const SourceMatcher* source = nullptr);

  // Asks the CPU to load what OnDatagram will read for each of `datagrams` (the id index's
  // slot, then the peer's record, then its detector) before any of them is processed, so a
  // batch's cache misses overlap instead of coming one after another: in a large table
  // nearly every heartbeat misses on all three. A hint: it changes no state, and a datagram
  // that does not decode or names an unknown peer is skipped. Looks at the first
  // kPrefetchBatch only, and does nothing for a lone datagram or while the table holds
  // fewer than kPrefetchFromPeers peers: BM_NodeBatch measured the passes (which decode
  // and hash each datagram once more) a loss at 10,000 peers and a gain from 30,000; the
  // threshold lies between, not measured more finely.
  static constexpr std::size_t kPrefetchBatch = 64;
  static constexpr std::size_t kPrefetchFromPeers = 16384;
  void Prefetch(std::span<const std::span<const std::uint8_t>> datagrams) const;

  // Applies a new validated configuration (a reload): adds and removes peers; peers whose
  // settings did not change keep everything, peers whose detector settings changed keep
  // their state and, where possible, their history. Requires config.node.id == id().
  ReconfigureSummary Reconfigure(const Config& config, Timestamp now);

  // The state file's view of every peer; `clean_stop` only for the final write of a run.
  // O(peers): SnapshotHeader, SnapshotSlice and RememberedSlice take it in parts.
  PersistedState Snapshot(Timestamp now, bool clean_stop) const;
  // Snapshot without the peers.
  PersistedState SnapshotHeader(Timestamp now, bool clean_stop) const;
  // Hands up to `max` (> 0) tracked peers to `sink`, from the first whose order is above
  // `after` (from the first peer without it), and returns the order of the last one
  // appended, to pass as `after` next time; nullopt once the table's end is reached. Peers
  // may come and go between slices: one that stays is appended once (one forgotten
  // meanwhile may be appended here and again by RememberedSlice; readers keep the later
  // record). A Reconfigure renumbers listed peers: slices across one (reconfigurations()
  // changed) may skip or repeat peers, so start over.
  // `sink` gets each peer's fields (the id valid during the call).
  using PeerSink = std::function<void(const PeerFields&)>;
  std::optional<std::uint64_t> SnapshotSlice(std::optional<std::uint64_t> after, std::size_t max,
                                             const PeerSink& sink) const;
  // Hands every remembered peer to `sink` (in one piece).
  void AppendRemembered(const PeerSink& sink) const;
  // Visits at most `max` remembered records (dead ones, awaiting compaction, included) from
  // `cursor` (0: the first), hands the live ones to `sink`, and returns the cursor to go on
  // from, nullopt at the end. Peers remembered meanwhile are met at the end; requires no
  // CompactRemembered between the slices of one walk.
  std::optional<std::uint64_t> RememberedSlice(std::uint64_t cursor, std::size_t max,
                                               const PeerSink& sink) const;
  // Whether the remembered table has enough dead records to compact (or is compacting).
  bool remembered_compaction_due() const { return remembered_.NeedsCompaction(); }
  // One bounded step of it (at most `max` records moved); returns whether more is due.
  bool CompactRemembered(std::size_t max) { return remembered_.CompactStep(max); }
  // How many times Reconfigure ran.
  std::uint64_t reconfigurations() const { return reconfigurations_; }
  // Takes what a previous run knew about peers that are still configured, before anything
  // is heard (requires set_own_incarnation and SetAuthentication first): each keeps its
  // state and since; its sequence numbers up to the persisted highest (plus, after an
  // unclean stop and unless echoes are required, a margin) are rejected as replays; a restored up or suspect peer not heard within its allowance goes
  // down on silence. Event ids continue above the previous run's. A peer with two records
  // in `state.peers` (a snapshot may meet a peer twice) is restored from the later one.
  void Restore(const PersistedState& state, Timestamp now);

  // This daemon's incarnation: datagrams must echo it (when echoes are required) and event
  // ids of this run start above it, so they increase across restarts.
  void set_own_incarnation(std::uint64_t incarnation);
  std::uint64_t own_incarnation() const { return own_incarnation_; }

  // What a client resuming the event stream with an older id missed.
  struct EventHistory {
    std::uint64_t run_base = 0;       // every id of this run is above it
    std::uint64_t previous_last = 0;  // the previous run's last id (state file), 0: unknown
    bool previous_clean = false;      // ...and nothing happened after it was written
  };
  const EventHistory& event_history() const { return history_; }
  std::uint64_t last_event_id() const { return event_ids_.last(); }

  // Evaluates every peer whose deadline has come. Peers that come due before
  // `hold_until` (the local-health guard's "not listening" window) are not judged now:
  // their evaluation moves to hold_until, when fresh heartbeats have had a chance.
  void RunDue(Timestamp now, MonoTime hold_until = MonoTime{});

  // The daemon was not observing for a while: the next heartbeat of every peer starts a new
  // run of intervals instead of teaching the detector the gap it could not see.
  void NoteObservationGap();

  // When RunDue next has work; kNever if none.
  MonoTime NextWakeup() const { return deadlines_.NextWakeup(); }

  // Sets the keys datagrams are verified with (none: trailers cannot be checked and are
  // ignored) and whether a datagram without a valid MAC is rejected.
  // `require_echo`: a datagram of an incarnation not yet confirmed must echo our own
  // incarnation (meaningful only when authentication is required; ignored otherwise).
  void SetAuthentication(std::optional<Keyring> keyring, bool require_auth,
                         bool require_echo = false);

  // Records `event` (a cluster member's, EventRecord::member) in the ring with the next id
  // and `wall_ms`, and calls the listener, as for a peer's transition.
  void Publish(EventRecord event, std::int64_t wall_ms);
  // Called for every transition, and every event Publish records, after the ring has it.
  void set_event_listener(EventListener listener) { listener_ = std::move(listener); }
  // Called for every accepted heartbeat (for trace recording); unset: nothing is called.
  void set_arrival_listener(ArrivalListener listener) { arrival_listener_ = std::move(listener); }

  // Moves every enrolled peer silent for longer than enrollment.retention out of the
  // detector tables into the remembered table (last seen, state, since, replay high-water
  // marks). Returns how many. Looks at up to `max_scan` peers per call, continuing where the
  // last call stopped, and forgets what a whole pass found (checked again) when the pass
  // ends: O(max_scan) per call, plus O(peers) to close the gaps at the end of a pass that
  // forgot any. The daemon calls it a few times a second.
  // Not while the local-health guard holds (`hold_until`: this daemon was not listening).
  // Only peers not up or suspect are forgotten: a peer is judged before it is forgotten.
  std::size_t ForgetSilent(Timestamp now, MonoTime hold_until = MonoTime{},
                           std::size_t max_scan = SIZE_MAX);
  // How many peers each ForgetSilent call should look at, when called every `every` over a
  // table of `peers`: a whole pass takes about `retention`/64 (a peer is forgotten at most
  // two passes late), between kMinForgetSlice and kMaxForgetSlice peers a call. A pass that finds
  // nothing to forget still costs O(peers): pacing it to the retention, not to the clock,
  // keeps a table of enrolled peers that keep sending from costing a scan every second.
  static std::size_t ForgetSliceSize(std::size_t peers, Duration retention, Duration every);
  static constexpr std::size_t kMinForgetSlice = 2'000;
  static constexpr std::size_t kMaxForgetSlice = 50'000;

  // The listed peers first, in `peers:` order, then the enrolled ones: indexes below
  // listed_count() are the peers this daemon heartbeats.
  const PeerTable& peers() const { return peers_; }
  std::size_t listed_count() const { return peers_.size() - enrolled_count_; }
  PeerRange listed() const {
    return {peers_.begin(), peers_.begin() + static_cast<std::ptrdiff_t>(listed_count())};
  }
  // The index of the first peer whose order is above `order` (peers().size() if none).
  // O(log peers).
  std::size_t FirstAfter(std::uint64_t order) const;
  std::optional<PeerIndex> Find(std::string_view id) const;
  // A peer no longer tracked but remembered (an enrolled peer silent past its retention);
  // nullopt if none.
  std::optional<PersistedPeer> FindRemembered(std::string_view id) const;
  std::size_t enrolled_count() const { return enrolled_count_; }
  std::size_t remembered_count() const { return remembered_.size(); }
  // Heap bytes the remembered table holds (vigil_remembered_bytes).
  std::size_t remembered_bytes() const { return remembered_.MemoryBytes(); }
  const EventRing& events() const { return ring_; }
  const NodeCounters& counters() const { return counters_; }
  const std::string& id() const { return id_; }
  // Tracked peers per state, indexed by PeerState. O(1): kept as peers change state (the
  // daemon reads it on every transition; a mass outage must not cost O(peers) each).
  const std::array<std::size_t, 5>& CountByState() const { return state_counts_; }

 private:
  void OnTransition(const Transition& t) override;
  void Reschedule(PeerIndex index);
  void Reindex();
  // Reserves the id index (and the table's chunk list) for the listed peers and as many
  // enrolled ones as enrollment.max_peers allows.
  void ReserveIndex(const Config& config);
  std::optional<RejectReason> Reject(RejectReason reason);
  // Feeds a fresh, authentic message of a known peer to its monitor.
  std::optional<RejectReason> Apply(PeerIndex index, const Message& m, Timestamp now);
  void RestorePeer(PeerRecord& peer, const PersistedPeer& pp, bool clean_stop, Timestamp now);
  // The silence a fresh detector for `p` at `interval` allows after one heartbeat at `at`.
  Duration FreshAllowance(const PeerRecord& p, Duration interval, MonoTime at);
  // The interval a persisted peer advertised, or ours if unknown.
  Duration IntervalOf(const PersistedPeer& pp) const;
  // How far above a persisted high-water mark to raise the floor after an unclean stop.
  std::uint64_t ReplayMargin(const PersistedPeer& pp, bool clean_stop, bool echo_required) const;
  // Adds an authenticated, unlisted sender as an enrolled peer (its remembered marks
  // restored), or says why not: kUnknownSender (enrollment off, no valid MAC, id outside
  // the pattern) or kEnrollmentFull.
  std::variant<PeerIndex, RejectReason> Enroll(const Message& m, Timestamp now);
  // After the datagram that enrolled peer `index` (the last one) was judged: keeps it if
  // `accepted` (its remembered entry is then dropped), else removes it again.
  void FinishEnrollment(PeerIndex index, bool accepted);
  // The checks after the peer is known: source, incarnation, echo, sequence, then Apply.
  std::optional<RejectReason> Accept(PeerIndex index, const Message& m, Timestamp now,
                                     const SourceMatcher* source);
  // Appends a peer with the given order (see PeerRecord::order).
  // `options` null: SharedOptionsFor(pc.detector).
  PeerIndex AddPeer(const PeerConfig& pc, WallTime since, std::uint64_t order,
                    SharedDetectorOptions options = nullptr);
  // A persisted enrolled peer back as enrolled, or into the remembered table if it is
  // stale, enrollment would not take it now, or the table is full.
  // Returns its index if it is tracked.
  std::optional<PeerIndex> RestoreEnrolled(const PersistedPeer& restored, bool clean_stop,
                                           Timestamp now);
  // Whether enrollment (as configured now) takes a sender with this id.
  bool MayEnroll(std::string_view id) const;
  // Keeps `p`'s last seen, state, since and high-water marks in the remembered table.
  void Remember(const PeerRecord& p);
  // Remembers `f` (replacing any record of its id); counts it in remembered_refused if the
  // table is full.
  void PutRemembered(const PeerFields& f);
  // `options`, shared with the enrolled peers' defaults when equal to them.
  SharedDetectorOptions SharedOptionsFor(const DetectorOptions& options) const;
  PersistedPeer Persist(const PeerRecord& p) const { return ToPersisted(Fields(p)); }
  // What the state file keeps of `p`.
  PeerFields Fields(const PeerRecord& p) const;
  void Retune(PeerRecord& peer, const SharedDetectorOptions& options, Duration interval,
              ReconfigureSummary& summary);
  // The silence of an enrolled peer, by the monotonic clock once heard in this run.
  Duration SilenceOf(const PeerRecord& p, Timestamp now) const;
  // Whether ForgetSilent moves `p` to the remembered table now.
  bool Forgettable(const PeerRecord& p, Timestamp now) const;
  // Removes the peers marked in `forget` (as many as `count`) from the table.
  void RemovePeers(const std::vector<bool>& forget, std::size_t count);

  std::string id_;
  PeerTable peers_;
  IdIndex by_id_;  // id -> index in peers_; 8 bytes a slot, the ids stay in peers_
  DeadlineQueue deadlines_;
  EventIdSource event_ids_;
  EventRing ring_;
  NodeCounters counters_;
  EventListener listener_;
  ArrivalListener arrival_listener_;
  Timestamp now_{};  // the time of the call in progress, for transition records
  std::vector<PeerIndex> due_;  // reused by RunDue
  std::optional<Keyring> keyring_;
  bool require_auth_ = false;
  bool require_echo_ = false;
  std::uint64_t own_incarnation_ = 0;
  Duration heartbeat_interval_;
  EventHistory history_;
  EnrollmentConfig enrollment_;
  SharedDetectorOptions enrolled_detector_;  // the `detector:` defaults
  std::size_t enrolled_count_ = 0;
  std::uint64_t next_enrolled_order_ = kEnrolledOrderBase;
  std::array<std::size_t, 5> state_counts_{};  // see CountByState; recounted by Reindex
  std::uint64_t reconfigurations_ = 0;
  // FreshAllowance of enrolled peers, by interval; reset when the settings change.
  std::optional<std::pair<Duration, Duration>> fresh_allowance_;
  // How often the previous run wrote the state file being restored (see ReplayMargin).
  Duration restored_write_interval_ = StateWriteInterval(0);
  // ForgetSilent's pass over the table: where the next slice starts, what it found so far,
  // and the reconfigurations() it started under (a reload renumbers: start over).
  std::size_t forget_cursor_ = 0;
  std::vector<PeerIndex> forget_found_;
  std::uint64_t forget_generation_ = 0;
  RememberedTable remembered_;
};

}  // namespace vigil
