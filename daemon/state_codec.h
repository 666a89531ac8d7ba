// The state file's bytes (format version 3, binary): docs/operations.md "The state file"
// is the normative description. Pure: no I/O; state_file.h reads and writes the file.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "daemon/persisted_state.h"

namespace vigil {

inline constexpr std::string_view kStateMagic{"VGSTATE\0", 8};
inline constexpr std::uint32_t kStateVersion = 3;

// `state` as format version 3: a header, one record per peer (31 or 39 bytes plus the id),
// and a BLAKE2b-128 checksum of everything before it. Requires valid ids (1..64 bytes) and
// PeerStateName states; never fails.
std::string EncodeState(const PersistedState& state);

// Parses bytes written by EncodeState. Corruption (with what is wrong, e.g. "checksum
// mismatch: truncated or corrupt", "written by node 'x', not by this node 'y'",
// "unsupported state file version 4") for anything else. A peer id that appears twice is
// kept once, the later record winning (a snapshot may meet a peer twice).
Result<PersistedState> DecodeState(std::string_view bytes, const std::string& node_id);

}  // namespace vigil
