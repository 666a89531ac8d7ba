// Explicit times for unit tests: no clock is read anywhere in detector tests.
#pragma once

#include "base/time.h"

namespace vigil::testing {

inline MonoTime AtMs(double ms) {
  return MonoTime{} + std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms));
}

}  // namespace vigil::testing
