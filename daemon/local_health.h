// The local-health guard: notices when this daemon could not have observed its peers (the
// event loop ran late, the process was stopped or starved, the machine was suspended) and
// says until when no peer may be convicted on silence.
#pragma once

#include <cstdint>
#include <string>

#include "base/time.h"

namespace vigil {

struct LocalHealthOptions {
  // A gap this long between two moments the event loop was seen running is a stall: the
  // daemon was not listening, so silence during it proves nothing about peers.
  Duration stall_threshold = std::chrono::milliseconds(250);
  // After a stall, listen this long before convicting anyone again, so that every live
  // peer has had time to be heard.
  Duration listen_window = std::chrono::seconds(1);
};

// The options vigild runs the guard with for a heartbeat interval: after a stall it listens
// long enough for every live peer to be heard at least twice, max(1 s, 3 intervals).
LocalHealthOptions LocalHealthOptionsFor(Duration heartbeat_interval);

enum class StallCause : std::uint8_t { kNone, kLoopStall, kSuspend };

// Pure logic: the daemon calls Observe() at the start of every event-loop handler with the
// monotonic time and the boot-time-minus-monotonic offset (which grows only while the
// machine is suspended). Not thread-safe.
class LocalHealth {
 public:
  explicit LocalHealth(LocalHealthOptions options) : options_(options) {}

  // Records that the loop runs at `now`. Returns true if this call detected the start of a
  // new episode (then last_gap() and cause() describe it).
  bool Observe(MonoTime now, Duration boot_offset);

  // True while convictions must wait (a stall was seen less than listen_window ago).
  bool Degraded(MonoTime now) const { return now < hold_until_; }
  // Convictions are held until this time (in the past when healthy).
  MonoTime hold_until() const { return hold_until_; }

  std::uint64_t episodes() const { return episodes_; }
  Duration last_gap() const { return last_gap_; }
  Duration total_gap() const { return total_gap_; }
  StallCause cause() const { return cause_; }
  void set_options(LocalHealthOptions options) { options_ = options; }

 private:
  LocalHealthOptions options_;
  bool started_ = false;
  MonoTime last_seen_{};
  Duration last_boot_offset_{};
  MonoTime hold_until_{};
  std::uint64_t episodes_ = 0;
  Duration last_gap_{};
  Duration total_gap_{};
  StallCause cause_ = StallCause::kNone;
};

std::string_view StallCauseName(StallCause cause);

}  // namespace vigil
