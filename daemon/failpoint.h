// Test hooks that make one of vigild's loops fail, so tests can see a failure is never
// silent (docs/operations.md, "Failure injection"). Set VIGIL_FAILPOINT to a comma-separated
// list of names before starting vigild; unset (the only production setting), nothing fires.
#pragma once

#include <string_view>

namespace vigil {

// True if `name` is listed in VIGIL_FAILPOINT (read once, at the first call). Names in use:
//   send, receive, deadline   the loop throws on its third round
//   send-stall                the send loop stops re-arming its timer (it hangs)
bool FailpointActive(std::string_view name);

}  // namespace vigil
