#include "daemon/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace vigil {

namespace {

// The pid the current holder wrote, or "" if unreadable.
std::string HolderPid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string pid(buf, static_cast<std::size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid;
}

}  // namespace

Result<StateDirectoryLock> StateDirectoryLock::Acquire(const std::string& dir) {
  const std::string path = dir + "/" + kStateLockFileName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string pid = HolderPid(fd);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Busy(fmt::format(
          "state directory {} is in use by another vigild{}; each vigild needs its own "
          "state.directory",
          dir, pid.empty() ? "" : " (pid " + pid + ")"));
    }
    return Status::IOError(fmt::format("cannot lock {}: {}", path, std::strerror(err)));
  }
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock holds regardless; only the pid in the message of a second daemon is lost.
  }
  return StateDirectoryLock(fd);
}

StateDirectoryLock::StateDirectoryLock(StateDirectoryLock&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

StateDirectoryLock& StateDirectoryLock::operator=(StateDirectoryLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

StateDirectoryLock::~StateDirectoryLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace vigil
