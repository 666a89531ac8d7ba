// A file a command will write at the end of its work, opened at the start so a path that
// cannot be written fails before minutes of work rather than after.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace vigil {

class OutputFile {
 public:
  // Opens (creating if needed) `path` for writing without truncating it yet: an existing
  // file keeps its content until Commit. On failure: IOError naming the path and why.
  static Result<OutputFile> Open(const std::string& path);

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  // Without a Commit, a file this created is removed again: no empty plot is left behind
  // by a command that failed.
  ~OutputFile();

  // Replaces the content with `content` and closes the file. On failure: IOError.
  Status Commit(std::string_view content);

  const std::string& path() const { return path_; }

 private:
  OutputFile(std::string path, int fd, bool created)
      : path_(std::move(path)), fd_(fd), created_(created) {}
  std::string path_;
  int fd_ = -1;
  bool created_ = false;
};

}  // namespace vigil
