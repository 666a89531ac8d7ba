#include "ctl/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace vigil {

Result<OutputFile> OutputFile::Open(const std::string& path) {
  bool created = true;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    return Status::IOError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  return OutputFile(path, fd, created);
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), created_(other.created_) {
  other.fd_ = -1;
}

OutputFile::~OutputFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  if (created_) ::unlink(path_.c_str());
}

Status OutputFile::Commit(std::string_view content) {
  bool ok = ::ftruncate(fd_, 0) == 0;
  for (std::size_t at = 0; ok && at < content.size();) {
    const ssize_t n = ::write(fd_, content.data() + at, content.size() - at);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) at += static_cast<std::size_t>(n);
  }
  const int saved = errno;
  ok = ::close(fd_) == 0 && ok;
  fd_ = -1;
  if (!ok) {
    return Status::IOError(
        fmt::format("cannot write {}: {}", path_, std::strerror(saved ? saved : errno)));
  }
  return Status::OK();
}

}  // namespace vigil
