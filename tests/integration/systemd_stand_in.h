// Stand-ins for what systemd gives a service, for tests of vigild's notifications:
// environment variables (NOTIFY_SOCKET, WATCHDOG_USEC) and the notification socket.
#pragma once

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vigil::testing {

// Sets an environment variable for the daemons started while it lives.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

// A Unix datagram socket standing in for systemd's notification socket. Like systemd, it
// reads every message as it comes (a full queue would block the daemon's sd_notify).
class NotifySocket {
 public:
  using Clock = std::chrono::steady_clock;
  explicit NotifySocket(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    reader_ = std::thread([this] { Read(); });
  }
  ~NotifySocket() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
  }
  bool bound() const { return bound_; }
  // Messages containing `what` that arrived at or after `since`.
  int CountSince(const std::string& what, Clock::time_point since) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& [at, text] : messages_) {
      if (at >= since && text.find(what) != std::string::npos) ++n;
    }
    return n;
  }

 private:
  void Read() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[512];
      const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got <= 0) continue;
      std::lock_guard lock(mu_);
      messages_.emplace_back(Clock::now(), std::string(buf, static_cast<std::size_t>(got)));
    }
  }
  int fd_ = -1;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::pair<Clock::time_point, std::string>> messages_;
  std::thread reader_;
};

}  // namespace vigil::testing
