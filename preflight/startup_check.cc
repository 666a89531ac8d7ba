#include "preflight/startup_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "transport/keyring.h"

namespace vigil {

namespace {

std::string ParentOf(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// The nearest ancestor of `path` that exists (`path` itself if it does).
std::string NearestExisting(std::string path) {
  std::error_code ec;
  while (!std::filesystem::exists(path, ec)) {
    const std::string parent = ParentOf(path);
    if (parent == path) break;
    path = parent;
  }
  return path;
}

}  // namespace

std::optional<std::string> StateDirectoryProblem(const std::string& dir) {
  const auto fail = [&](const std::string& what) {
    return fmt::format("cannot use {}: {}; it must be a directory vigild may write (the "
                       "systemd unit's StateDirectory=vigil makes /var/lib/vigil)",
                       dir, what);
  };
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return fail("it exists and is not a directory");
    if (::access(dir.c_str(), W_OK | X_OK) != 0) return fail(std::strerror(errno));
    return std::nullopt;
  }
  if (errno != ENOENT) return fail(std::strerror(errno));
  // Missing: vigild creates it, which needs the nearest existing ancestor to be writable.
  const std::string base = NearestExisting(dir);
  if (::stat(base.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail(fmt::format("cannot create it: {} is not a directory", base));
  }
  if (::access(base.c_str(), W_OK | X_OK) != 0) {
    return fail(fmt::format("cannot create it in {}: {}", base, std::strerror(errno)));
  }
  return std::nullopt;
}

std::optional<std::string> ApiSocketPathProblem(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return fmt::format("{} exists and is not a socket; refusing to replace it", path);
    }
    return std::nullopt;
  }
  const std::string dir = ParentOf(path);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fmt::format("cannot listen on {}: the directory {} does not exist; under systemd the "
                       "unit's RuntimeDirectory=vigil creates /run/vigil, and a vigild run by "
                       "hand needs api.socket set to a path in an existing directory",
                       path, dir);
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return fmt::format("cannot listen on {}: cannot create a socket in {}: {}", path, dir,
                       std::strerror(errno));
  }
  return std::nullopt;
}

std::optional<std::string> LogLevelProblem(std::string_view level) {
  if (std::find(kLogLevels.begin(), kLogLevels.end(), level) != kLogLevels.end()) {
    return std::nullopt;
  }
  return fmt::format("unknown log level '{}'; expected one of {}", level,
                     fmt::join(kLogLevels, ", "));
}

std::vector<ConfigError> CheckStartable(const Config& config, const std::string& file,
                                        std::vector<std::string>* notes) {
  std::vector<ConfigError> errors;
  const auto add = [&](const char* key, std::string message) {
    errors.push_back({file, 0, 0, key, std::move(message)});
  };
  // The unit's RuntimeDirectory exists only while the service runs (and before its
  // ExecStartPre check): checked by hand while vigil is stopped, its absence is expected.
  struct stat st {};
  const bool runtime_dir_to_come = ParentOf(config.api.socket) == kRuntimeDirectory &&
                                   ::stat(kRuntimeDirectory, &st) != 0 &&
                                   std::getenv("RUNTIME_DIRECTORY") == nullptr;
  if (!InitCrypto()) add("security.keyring", "libsodium failed to initialize");
  if (config.security.keyring) {
    if (const auto ring = Keyring::Load(*config.security.keyring); !ring) {
      add("security.keyring", ring.message());
    }
  }
  if (runtime_dir_to_come) {
    if (notes) {
      notes->push_back(fmt::format(
          "api.socket: {} does not exist yet; the systemd unit's RuntimeDirectory=vigil creates "
          "it when the service starts, but a vigild started by hand with this file would refuse "
          "to start",
          kRuntimeDirectory));
    }
  } else if (auto p = ApiSocketPathProblem(config.api.socket)) {
    add("api.socket", *p);
  }
  if (auto p = StateDirectoryProblem(config.state.directory)) add("state.directory", *p);
  if (auto p = LogLevelProblem(config.log.level)) add("log.level", *p);
  return errors;
}

}  // namespace vigil
