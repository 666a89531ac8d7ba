// The checks vigild runs before it starts, shared by `vigild` itself, `vigild --check-config`
// and `vigilctl check-config`, so a configuration that passes the check starts (binding the
// sockets is the one step left out: it needs the port and path free right then).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace vigil {

// The directory systemd's RuntimeDirectory=vigil creates while the service runs.
inline constexpr const char* kRuntimeDirectory = "/run/vigil";

// Everything start-up would refuse in a loaded, valid `config` read from `file`: the keyring
// (readable, mode 0600 or stricter, base64 keys of the right size, nothing else in it), the
// API socket's directory (exists; the path, if present, is a socket), the state directory
// (exists or can be created, and is writable). Returns one ConfigError per problem (line 0,
// keyed by the setting), with the messages vigild logs when it refuses to start; empty if
// none. One exception: a missing kRuntimeDirectory for the socket, outside the service (no
// $RUNTIME_DIRECTORY), is what a stopped service looks like, so it is a note in *notes (if
// given) rather than an error. Checks run as the calling user. Reads the filesystem,
// writes nothing. Thread-safe.
std::vector<ConfigError> CheckStartable(const Config& config, const std::string& file,
                                        std::vector<std::string>* notes = nullptr);

// Why `dir` cannot serve as state.directory (it cannot be created, or is not a writable
// directory), or nullopt if it can. The message vigild logs when it refuses to start.
std::optional<std::string> StateDirectoryProblem(const std::string& dir);

// Why the API socket cannot be created at `path` (its directory is missing, or something
// that is not a socket is in the way), or nullopt. Leaves out whether a daemon listens there.
std::optional<std::string> ApiSocketPathProblem(const std::string& path);

// nullopt if `level` is a log level vigild knows, else the message for it.
std::optional<std::string> LogLevelProblem(std::string_view level);

}  // namespace vigil
