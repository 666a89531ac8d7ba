// Records peers' heartbeat arrivals as trace files (docs/tuning.md) for `vigilctl replay` and
// `vigilctl tune`: <directory>/<peer>.csv, rotated to <peer>.csv.1 ... when it reaches the
// size limit, at most `max_files` files per peer.
//
// A new file is started whenever a peer's incarnation changes and when the daemon starts,
// so every file is one run of one sender seen by one run of vigild: its sequence numbers
// increase and its times (this host's monotonic clock, in ms) never go back.
//
// Failures (cannot create the directory, open or write a file) stop recording for that peer
// until the next Configure, with one log line and a counter; they never affect detection.
// Single-threaded: the daemon's io_context thread.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "base/time.h"

namespace vigil {

struct TraceRecorderCounters {
  std::uint64_t rows = 0;       // arrivals written
  std::uint64_t rotations = 0;  // files started because the current one was full
  std::uint64_t errors = 0;     // open/write failures
};

class TraceRecorder {
 public:
  explicit TraceRecorder(std::string directory);
  ~TraceRecorder();
  TraceRecorder(const TraceRecorder&) = delete;
  TraceRecorder& operator=(const TraceRecorder&) = delete;

  // Which peers to record and the limits. Peers no longer recorded are closed; peers still
  // recorded keep their current file.
  void Configure(const RecordingConfig& options, const std::vector<PeerConfig>& peers);

  // True if `peer` is being recorded.
  bool Recording(const std::string& peer) const;

  // One arrival. `at` is on the monotonic clock.
  void OnArrival(const std::string& peer, std::uint64_t incarnation, std::uint64_t sequence,
                 MonoTime at);

  // Pushes buffered rows to the files (the daemon calls this every few seconds and on exit).
  void Flush();

  const TraceRecorderCounters& counters() const { return counters_; }
  const std::string& directory() const { return directory_; }

 private:
  struct File {
    std::ofstream out;
    std::uint64_t bytes = 0;
    std::uint64_t incarnation = 0;
    bool open = false;
    bool failed = false;
  };
  bool Open(const std::string& peer, File& f);
  void Rotate(const std::string& peer);
  void Fail(const std::string& peer, File& f, const std::string& what);
  std::string PathOf(const std::string& peer, std::uint32_t generation) const;

  std::string directory_;
  RecordingConfig options_;
  std::unordered_map<std::string, File> files_;
  TraceRecorderCounters counters_;
};

}  // namespace vigil
