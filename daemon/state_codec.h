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
// PeerStateName states; never fails. The same bytes as StateFileBuilder and SealState.
std::string EncodeState(const PersistedState& state);

// Builds the same bytes piece by piece, so a snapshot of a million peers can be encoded a
// slice at a time between datagrams, straight from the peer table, into a buffer reused
// from one write to the next. Not thread-safe; one owner.
class StateFileBuilder {
 public:
  // Starts a file with `header`'s fields (its peers are ignored) in `buffer`, whose contents
  // are dropped but whose capacity is kept, and grown at once to hold `expected_records`
  // typical records: growing it as it fills would copy tens of megabytes in one step.
  void Begin(const PersistedState& header, std::string buffer = {},
             std::size_t expected_records = 0);
  // Appends one record. Requires a valid id (1..64 bytes).
  void Add(const PeerFields& peer);
  std::size_t records() const { return records_; }
  // The bytes so far, with the record count set, but not sealed: SealState appends the
  // checksum (on the writer thread: it reads every byte). Leaves the builder empty.
  std::string Finish();

 private:
  std::string out_;
  std::size_t count_at_ = 0;  // where the record count goes
  std::size_t records_ = 0;
};

// Appends the checksum to what StateFileBuilder::Finish returned: a complete file.
void SealState(std::string& bytes);

// Parses bytes written by EncodeState. Corruption (with what is wrong, e.g. "checksum
// mismatch: truncated or corrupt", "written by node 'x', not by this node 'y'",
// "unsupported state file version 4") for anything else. Every record is returned in file
// order, a peer id that appears twice (a snapshot may meet a peer twice) twice:
// Node::Restore keeps the later one.
Result<PersistedState> DecodeState(std::string_view bytes, const std::string& node_id);

}  // namespace vigil
