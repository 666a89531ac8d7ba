#include "daemon/api_json.h"

#include <array>
#include <cmath>
#include <iterator>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace vigil {

namespace json = boost::json;

namespace {

// JSON has no infinity: an unbounded phi is reported as null with "phi_infinite": true.
json::value Level(double level) {
  if (std::isfinite(level)) return json::value(std::round(level * 1000.0) / 1000.0);
  return nullptr;
}

double Round3(double x) { return std::round(x * 1000.0) / 1000.0; }

}  // namespace

json::object RememberedPeerJson(const PersistedPeer& peer, Timestamp now) {
  json::object o;
  o["id"] = peer.id;
  o["address"] = nullptr;
  o["enrolled"] = peer.enrolled;
  o["remembered"] = true;
  o["state"] = peer.state;
  o["since"] = peer.since_ms;
  if (peer.last_heartbeat_ms) {
    o["last_heartbeat"] = *peer.last_heartbeat_ms;
    // Only the wall clock relates it to now: clamped at zero if the clock went back.
    o["last_heartbeat_age_ms"] =
        std::max<std::int64_t>(0, EpochMillis(now.wall) - *peer.last_heartbeat_ms);
  } else {
    o["last_heartbeat"] = nullptr;
    o["last_heartbeat_age_ms"] = nullptr;
  }
  o["incarnation"] = peer.incarnation;
  return o;
}

std::optional<std::int64_t> LastHeartbeatMillis(const PeerRecord& peer) {
  if (const auto heard = peer.last_heartbeat_wall()) return EpochMillis(*heard);
  if (peer.previous) return peer.previous->last_heartbeat_ms;
  return std::nullopt;
}

json::object PeerJson(const PeerRecord& peer, Timestamp now) {
  const PeerMonitor& m = peer.monitor;
  const FailureDetector& d = m.detector();
  json::object o;
  o["id"] = peer.id;
  o["address"] = peer.enrolled ? json::value(nullptr) : json::value(peer.address().ToString());
  o["enrolled"] = peer.enrolled;
  o["remembered"] = false;
  o["state"] = PeerStateName(m.state());
  const double level = m.Level(now.mono);
  o["phi"] = Level(level);
  o["phi_infinite"] = std::isinf(level);
  o["detector"] = DetectorKindName(peer.detector_options->kind());
  o["threshold"] = d.threshold();
  if (const auto heard = peer.last_heartbeat_wall()) {
    o["last_heartbeat"] = EpochMillis(*heard);
    // The age comes from the monotonic clock: a wall-clock step cannot make it negative.
    const auto last = d.last_heartbeat();
    o["last_heartbeat_age_ms"] =
        last ? static_cast<std::int64_t>(std::max(0.0, MillisBetween(*last, now.mono))) : 0;
  } else if (peer.previous && peer.previous->last_heartbeat_ms) {
    // Heard by a previous run of vigild (state file): across a restart only the wall clock
    // relates the two, so the age is clamped at zero if the clock went back.
    o["last_heartbeat"] = *peer.previous->last_heartbeat_ms;
    o["last_heartbeat_age_ms"] =
        std::max<std::int64_t>(0, EpochMillis(now.wall) - *peer.previous->last_heartbeat_ms);
  } else {
    o["last_heartbeat"] = nullptr;
    o["last_heartbeat_age_ms"] = nullptr;
  }
  if (peer.previous) {
    o["previous_state"] = peer.previous->state;
    o["previous_since"] = peer.previous->since_ms;
  } else {
    o["previous_state"] = nullptr;
    o["previous_since"] = nullptr;
  }
  o["since"] = EpochMillis(peer.since_wall);
  o["incarnation"] = m.incarnation();
  o["heartbeats_received"] = peer.heartbeats_received;
  o["heartbeats_lost"] = peer.sequence.lost();
  o["heartbeats_late"] = peer.sequence.late();
  const IntervalStats stats = d.Stats();
  o["interval_mean_ms"] = Round3(stats.mean_ms);
  o["interval_stddev_ms"] = Round3(stats.stddev_ms);
  o["interval_samples"] = stats.samples;
  o["sender_interval_ms"] = peer.sender_interval_us / 1000.0;
  o["flaps"] = m.flaps();
  // How much silence after the last heartbeat makes this peer down, with what the detector
  // has learned so far: the detection bound an operator can alert or plan on.
  const auto last = d.last_heartbeat();
  const auto crossing = d.CrossingTime(d.threshold());
  if (last && crossing) {
    o["down_after_silence_ms"] = Round3(std::max(0.0, MillisBetween(*last, *crossing)));
  } else {
    o["down_after_silence_ms"] = nullptr;
  }
  return o;
}

namespace {

// {"total":N,"unknown":..,"up":..,"suspect":..,"down":..,"left":..}
json::object CountsJson(const std::array<std::size_t, 5>& by_state) {
  json::object o;
  std::size_t sum = 0;
  for (std::size_t s = 0; s < by_state.size(); ++s) {
    o[PeerStateName(static_cast<PeerState>(s))] = by_state[s];
    sum += by_state[s];
  }
  o["total"] = sum;
  return o;
}

}  // namespace

json::object SummaryJson(const Node& node) {
  const auto all = node.CountByState();
  std::array<std::size_t, 5> listed{};
  for (const PeerRecord& p : node.listed()) ++listed[static_cast<std::size_t>(p.monitor.state())];
  std::array<std::size_t, 5> enrolled{};
  for (std::size_t s = 0; s < enrolled.size(); ++s) enrolled[s] = all[s] - listed[s];
  json::object o;
  o["peers"] = CountsJson(all);
  o["listed"] = CountsJson(listed);
  o["enrolled"] = CountsJson(enrolled);
  o["remembered"] = node.remembered_count();
  o["last_event_id"] = node.events().last_id();
  return o;
}

json::object SelfJson(const Node& node, const SelfInfo& self, Timestamp now) {
  json::object o;
  o["id"] = self.id;
  o["version"] = self.version;
  o["incarnation"] = self.incarnation;
  o["started"] = EpochMillis(self.started.wall);
  o["uptime_ms"] = static_cast<std::int64_t>(MillisBetween(self.started.mono, now.mono));
  o["bind"] = self.bind;
  o["socket"] = self.socket;
  json::object counts;
  const auto by_state = node.CountByState();
  for (std::size_t s = 0; s < by_state.size(); ++s) {
    counts[PeerStateName(static_cast<PeerState>(s))] = by_state[s];
  }
  o["peers"] = node.peers().size();
  o["enrolled"] = node.enrolled_count();
  o["remembered"] = node.remembered_count();
  o["peers_by_state"] = std::move(counts);
  o["last_event_id"] = node.events().last_id();
  return o;
}

json::object LocalHealthJson(const LocalHealth& h, Timestamp now) {
  json::object o;
  const bool degraded = h.Degraded(now.mono);
  o["state"] = degraded ? "degraded" : "ok";
  o["episodes"] = h.episodes();
  o["last_cause"] = StallCauseName(h.cause());
  o["last_gap_ms"] = static_cast<std::int64_t>(ToMillis(h.last_gap()));
  o["total_gap_ms"] = static_cast<std::int64_t>(ToMillis(h.total_gap()));
  o["holding_convictions_ms"] =
      degraded ? static_cast<std::int64_t>(MillisBetween(now.mono, h.hold_until())) : 0;
  return o;
}

json::object SendLoadJson(const SendLoad& load, Timestamp now) {
  json::object o;
  o["state"] = load.Overloaded(now.mono) ? "overloaded" : "ok";
  o["rounds"] = load.rounds();
  o["late_rounds"] = load.late_rounds();
  o["episodes"] = load.episodes();
  o["last_round_ms"] = static_cast<std::int64_t>(ToMillis(load.last_round()));
  o["last_round_peers"] = load.last_round_datagrams();
  return o;
}

json::object EventJson(const EventRecord& e) {
  json::object o;
  o["id"] = e.id;
  if (e.member) {
    const auto or_null = [](std::uint8_t v) {
      return v == EventRecord::kNoCount ? json::value(nullptr) : json::value(v);
    };
    o["member"] = e.peer;
    o["from"] = PeerStateName(e.from);
    o["to"] = PeerStateName(e.to);
    o["reason"] = MemberReasonName(e.member_reason);
    o["time"] = e.wall_ms;
    o["incarnation"] = e.incarnation > 0 ? json::value(e.incarnation) : json::value(nullptr);
    o["reports"] = or_null(e.reports);
    o["observers"] = or_null(e.observers);
    return o;
  }
  o["peer"] = e.peer;
  o["from"] = PeerStateName(e.from);
  o["to"] = PeerStateName(e.to);
  o["reason"] = TransitionReasonName(e.reason);
  o["time"] = e.wall_ms;
  o["phi"] = Level(e.level);
  o["incarnation"] = e.incarnation;
  return o;
}

json::object ErrorJson(int status, std::string_view message) {
  json::object o;
  o["status"] = status;
  o["error"] = message;
  return o;
}

}  // namespace vigil
