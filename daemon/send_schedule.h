// How vigild paces its own heartbeats: a round to every peer is cut into bounded slices
// spread over part of the interval, so the event loop never blocks on sending (issue 12,
// item 5), and a round that cannot finish in time is reported as overload, distinctly from
// the local-health guard's "this daemon was not running". Pure: fed times, reads no clock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/time.h"

namespace vigil {

// At most this many datagrams leave in one go (one sendmmsg batch), between which the event
// loop runs everything else that is ready: receiving, deadlines, the API, the tick.
inline constexpr std::size_t kSendSliceSize = 128;

// The slices of a round leave over this fraction of the interval, evenly spaced. A peer's
// place in the round is the same every round, so each peer still sees one heartbeat per
// interval; the rest of the interval is headroom for a slow round.
inline constexpr double kSendSpreadFraction = 0.5;

// How one round to `targets` peers is cut.
struct RoundPlan {
  std::size_t slices = 0;   // ceil(targets / kSendSliceSize); 0 when there is no target
  Duration spacing{};       // between the starts of two consecutive slices
};

// Requires interval > 0.
RoundPlan PlanRound(std::size_t targets, Duration interval);

// The first and one-past-last peer index of slice `slice` of a round to `targets` peers.
struct SliceRange {
  std::size_t begin = 0;
  std::size_t end = 0;
};
SliceRange SliceOf(std::size_t slice, std::size_t targets);

// When the next heartbeat round leaves. Round k is due at a slot start + k·interval and
// leaves within ±jitter of it: the jitter spreads a cluster's sends so they do not go out in
// lockstep, but it does not accumulate (as re-arming "interval after now" would, along with
// each wake-up's latency), so receivers see exactly the interval announced.
struct NextRound {
  MonoTime slot;   // the unjittered due time
  MonoTime start;  // slot moved by the jitter
};
// The round after the one of `slot` finished at `now`. `jitter` is a sample in
// [-heartbeat.jitter, +heartbeat.jitter] (a fraction of the interval). A schedule that fell a
// whole interval behind (suspended, starved, overloaded) starts afresh at `now` rather than
// bursting to catch up. Requires interval > 0.
NextRound NextRoundAfter(MonoTime slot, Duration interval, MonoTime now, double jitter);

// Overload accounting: whether heartbeat rounds finish before the next one is due.
// Not thread-safe (the daemon's one thread).
class SendLoad {
 public:
  // A round is late when its last slice left after the next round was due (due + interval):
  // the heartbeats it carried left late, so peers see longer intervals than advertised.
  // `hold` keeps the overloaded state visible this long after the last late round, so a
  // monitor polling now and then sees it and it does not flap between rounds.
  explicit SendLoad(Duration hold = std::chrono::seconds(10)) : hold_(hold) {}

  enum class Change { kNone, kBecameOverloaded, kRecovered };

  // The round that was due at `due` sent `datagrams` and finished at `finished`. Reports
  // whether this began an overload episode or ended one (on-time rounds after `hold`).
  Change OnRoundDone(MonoTime due, MonoTime finished, Duration interval, std::size_t datagrams);

  // True from a late round until `hold` after the last late round.
  bool Overloaded(MonoTime now) const { return overloaded_ && now < late_until_; }
  // True while an episode is open (a recovery not yet reported by OnRoundDone).
  bool InEpisode() const { return overloaded_; }

  std::uint64_t rounds() const { return rounds_; }
  std::uint64_t late_rounds() const { return late_rounds_; }
  std::uint64_t episodes() const { return episodes_; }
  // How long the last round took from its due time to its last slice, and its size.
  Duration last_round() const { return last_round_; }
  std::size_t last_round_datagrams() const { return last_round_datagrams_; }

 private:
  Duration hold_;
  bool overloaded_ = false;
  MonoTime late_until_{};
  std::uint64_t rounds_ = 0;
  std::uint64_t late_rounds_ = 0;
  std::uint64_t episodes_ = 0;
  Duration last_round_{};
  std::size_t last_round_datagrams_ = 0;
};

}  // namespace vigil
