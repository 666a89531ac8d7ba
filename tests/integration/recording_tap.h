// A UDP relay that records what passes through it, for replay tests: what is sent to its
// port goes on to another, and the last datagrams are kept to be sent again.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace vigil::testing {

inline sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  return a;
}

// Forwards what arrives on its port to `to`, keeping the last `keep` datagrams.
class RecordingTap {
 public:
  RecordingTap(int port, int to, std::size_t keep)
      : fd_(::socket(AF_INET, SOCK_DGRAM, 0)), to_(Loopback(to)), keep_(keep) {
    const sockaddr_in self = Loopback(port);
    bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&self), sizeof self) == 0;
    thread_ = std::thread([this] { Run(); });
  }
  ~RecordingTap() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  bool bound() const { return bound_; }
  std::vector<std::vector<std::uint8_t>> Recorded() const {
    std::lock_guard lock(mu_);
    return {recorded_.begin(), recorded_.end()};
  }
  // Sends each datagram to `to` from 127.0.0.1 (another port: vigild ignores the port).
  static void Replay(const std::vector<std::vector<std::uint8_t>>& datagrams, int to) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in dest = Loopback(to);
    for (const auto& d : datagrams) {
      ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&dest), sizeof dest);
    }
    ::close(fd);
  }

 private:
  void Run() {
    std::uint8_t buf[2048];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      ::sendto(fd_, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<const sockaddr*>(&to_),
               sizeof to_);
      std::lock_guard lock(mu_);
      recorded_.emplace_back(buf, buf + n);
      if (recorded_.size() > keep_) recorded_.pop_front();
    }
  }

  int fd_;
  sockaddr_in to_;
  std::size_t keep_;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::deque<std::vector<std::uint8_t>> recorded_;
  std::thread thread_;
};

}  // namespace vigil::testing
