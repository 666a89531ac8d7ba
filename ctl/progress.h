// Progress of a long command on stderr: nothing for the first second, then one line a
// second ("tune: 40 % (swept 120 of 300 settings)"). The caller decides whether to show it
// at all (vigilctl tune: only when stderr is a terminal, so logs and pipes stay clean).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>

namespace vigil {

class ProgressMeter {
 public:
  using Now = std::function<std::chrono::steady_clock::time_point()>;

  // `out` null: silent. `now` is the clock (injected by tests).
  ProgressMeter(std::ostream* out, std::size_t total, std::string command,
                Now now = [] { return std::chrono::steady_clock::now(); });

  // `done` of `total` settings are finished.
  void Update(std::size_t done);

 private:
  std::ostream* out_;
  std::size_t total_;
  std::string command_;
  Now now_;
  std::chrono::steady_clock::time_point next_;  // the earliest time for the next line
};

}  // namespace vigil
