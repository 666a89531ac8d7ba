// The state file: what survives a restart (persisted_state.h), written and read atomically.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "daemon/clock.h"
#include "daemon/persisted_state.h"

namespace vigil {

inline constexpr const char* kStateFileName = "state.bin";
// What vigil 0.2 and earlier wrote (JSON): read when there is no state.bin, removed once
// state.bin is written.
inline constexpr const char* kLegacyStateFileName = "state.json";

// Writes `state` to `dir`/state.bin (state_codec.h) atomically: a temporary file in the
// same directory, fsync, rename over the old file, fsync of the directory. A crash at any
// point leaves either the old or the new file, never a mix. Then removes a legacy
// state.json. On failure: IOError.
Status WriteStateFile(const std::string& dir, const PersistedState& state);
// The same with the file's bytes already encoded and sealed (StateFileBuilder, SealState).
Status WriteStateBytes(const std::string& dir, std::string_view bytes);

// Reads `dir`/state.bin, or if there is none the legacy `dir`/state.json. NotFound when
// there is neither; IOError when it cannot be read; Corruption (naming the file) for
// anything that is not a complete state file of node `node_id`: truncated, corrupt,
// another format or version, or another node's. Never throws.
Result<PersistedState> ReadStateFile(const std::string& dir, const std::string& node_id);

// Renames a bad state file (state.bin, or else state.json) to <name>.bad-<epoch ms> so it
// can be inspected, and returns the new path ("" if the rename failed).
std::string QuarantineStateFile(const std::string& dir, WallTime now);

}  // namespace vigil
