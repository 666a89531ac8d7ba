// libFuzzer target: any bytes as a heartbeat trace file, then replayed through the default
// detector and scored. Parsing returns a trace or an error naming the line; a parsed trace
// replays without crashing, whatever its numbers.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "quality/replay.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  const vigil::TraceResult r = vigil::ParseTrace(in, "fuzz.csv");
  if (r.trace.has_value() == !r.error.empty()) __builtin_trap();
  if (!r.trace || r.trace->rows.size() > 10'000) return 0;
  const auto interval = vigil::InferInterval(*r.trace).value_or(std::chrono::milliseconds(100));
  const auto s = vigil::Replay(*r.trace, vigil::DetectorOptions{}, interval);
  if (s.size() != r.trace->rows.size()) __builtin_trap();
  (void)vigil::ScoreQos(*r.trace, s);
  return 0;
}
