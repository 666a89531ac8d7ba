// The one error type of vigil's I/O edges, after LevelDB's Status: success, or a code and a
// message for a person ("cannot open /etc/vigil/keyring: permission denied"). Result<T> is a
// value or the Status saying why there is none. Exceptions stay inside the edges where
// libraries throw (yaml-cpp, Boost.JSON, Asio); they are caught there and become these.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace vigil {

class [[nodiscard]] Status {
 public:
  enum class Code : std::uint8_t {
    kOk,
    kNotFound,         // a file, peer or key that is not there
    kInvalidArgument,  // bad input: a malformed file, value or request
    kIOError,          // the system refused: open, bind, write, read
    kCorruption,       // stored data that does not read back
    kBusy,             // held by someone else (another vigild's lock)
    kUnavailable,      // may go away by itself: a daemon restarting, a connection lost
  };

  // Success.
  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string message) { return {Code::kNotFound, std::move(message)}; }
  static Status InvalidArgument(std::string message) {
    return {Code::kInvalidArgument, std::move(message)};
  }
  static Status IOError(std::string message) { return {Code::kIOError, std::move(message)}; }
  static Status Corruption(std::string message) {
    return {Code::kCorruption, std::move(message)};
  }
  static Status Busy(std::string message) { return {Code::kBusy, std::move(message)}; }
  static Status Unavailable(std::string message) {
    return {Code::kUnavailable, std::move(message)};
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  // The message for a person; empty when ok().
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// A T, or the Status saying why there is none. Requires a non-ok Status to be constructed
// from one. Not thread-safe (a value type).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit, as a return value
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  // OK when there is a value.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }
  const std::string& message() const {
    static const std::string kNone;
    return ok() ? kNone : std::get<Status>(v_).message();
  }

  // Require ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace vigil
