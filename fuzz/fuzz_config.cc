// libFuzzer target: any bytes as a YAML configuration. Loading must never throw or crash;
// it returns a config or errors.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto r = vigil::LoadConfigString(text, "fuzz.yaml");
  if (r.ok() != r.config.has_value()) __builtin_trap();
  for (const auto& e : r.errors) (void)e.ToString();
  return 0;
}
