// An exclusive lock on a state directory, so two vigild never share one (each would read
// and overwrite the other's state file).
#pragma once

#include <optional>
#include <string>

#include "base/status.h"

namespace vigil {

class StateDirectoryLock {
 public:
  // Takes an exclusive flock(2) on `dir`/lock (creating the file, mode 0644) and writes this
  // process's pid into it. On failure: Busy, one line that says what holds it ("... is in
  // use by another vigild (pid 123)"), or IOError with what the OS said.
  // Requires: `dir` exists. The lock lasts until the object is destroyed or the process
  // exits (the kernel releases it even after SIGKILL, so a stale file never blocks a start).
  static Result<StateDirectoryLock> Acquire(const std::string& dir);

  StateDirectoryLock(StateDirectoryLock&& other) noexcept;
  StateDirectoryLock& operator=(StateDirectoryLock&& other) noexcept;
  StateDirectoryLock(const StateDirectoryLock&) = delete;
  ~StateDirectoryLock();

 private:
  explicit StateDirectoryLock(int fd) : fd_(fd) {}
  int fd_;
};

inline constexpr const char* kStateLockFileName = "lock";

}  // namespace vigil
