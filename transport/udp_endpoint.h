// The UDP socket heartbeats travel on: batched receive (recvmmsg), non-blocking send.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "base/status.h"

namespace vigil {

// One received datagram, valid only during the batch callback.
struct ReceivedDatagram {
  std::span<const std::uint8_t> data;  // at most kReceiveBufferSize bytes
  boost::asio::ip::udp::endpoint from;
  bool truncated = false;  // larger than the receive buffer: certainly oversized
};

// One datagram to send; both spans must stay valid during the SendBatch call.
struct OutgoingDatagram {
  std::span<const std::uint8_t> data;
  const boost::asio::ip::udp::endpoint* to = nullptr;  // made Reachable() already
};

// A bound UDP socket. Lives on one io_context; not thread-safe (nor needs to be).
class UdpEndpoint {
 public:
  static constexpr std::size_t kBatchSize = 32;
  static constexpr std::size_t kReceiveBufferSize = 2048;

  using BatchHandler = std::function<void(std::span<const ReceivedDatagram>)>;

  ~UdpEndpoint();

  // Opens a socket bound to `bind`. An IPv6 wildcard bind accepts IPv4 too (dual stack).
  // On failure: IOError naming the address and cause.
  static Result<std::unique_ptr<UdpEndpoint>> Open(boost::asio::io_context& io,
                                                   const boost::asio::ip::udp::endpoint& bind);

  // Receives until Close(): waits for readability, then drains the socket in batches of up
  // to kBatchSize with recvmmsg and hands each batch to `handler`. Errors other than
  // cancellation are reported to `on_error` and the loop re-arms. At most one ReceiveLoop
  // per endpoint; `handler` may call DrainPending() (it is not re-entered).
  //
  // Coalescing (set_coalesce_window > 0): when datagrams come closer together than the
  // window, the loop stops waking for each one: after a drain that found datagrams it sleeps
  // the window, drains again, and waits for readability only once a drain finds nothing. A
  // datagram then waits at most the window (plus scheduling) in the socket buffer; sparser
  // traffic is handled as it arrives, as without coalescing. During such a hold the socket
  // is out of the reactor (epoll would report, and wake the thread for, every datagram that
  // arrives); sends still go out, and WaitWritable looks for room once per window. A drain
  // that fills every batch (a flood) goes on at once, without sleeping.
  boost::asio::awaitable<void> ReceiveLoop(BatchHandler handler,
                                           std::function<void(const std::error_code&)> on_error);

  // 0 turns coalescing off. Takes effect at the loop's next wake-up.
  void set_coalesce_window(std::chrono::nanoseconds window) { coalesce_window_ = window; }
  // True while the receive loop is sleeping out a coalescing window: datagrams may be queued
  // that nobody has seen yet.
  bool holding() const { return holding_; }
  // Hands what is queued in the socket now to the receive loop's handler (a bounded amount)
  // and returns how many datagrams that was. For a caller about to judge silence while
  // holding(): a queued heartbeat is not silence. No-op (0) outside a running ReceiveLoop or
  // from inside its handler.
  std::size_t DrainPending();
  // Times the receive loop woke up (for readability or after a coalescing window): the
  // wake-ups of the thread that receiving causes.
  std::uint64_t wakeups() const { return wakeups_; }

  // Sends one datagram without blocking. Returns false and sets *ec on failure (including
  // a full socket buffer); UDP makes no promise, so callers count and move on.
  bool SendTo(std::span<const std::uint8_t> data, const boost::asio::ip::udp::endpoint& to,
              std::error_code* ec);

  // Sends `batch` in order with sendmmsg, without blocking. Returns how many datagrams, from
  // the start of `batch`, the kernel took. If fewer than batch.size(), the next one was
  // refused and *ec says why (EAGAIN: the socket's send buffer is full, wait until it is
  // writable and send it again; anything else, ENOBUFS included, concerns that datagram
  // alone: count it lost and go on).
  std::size_t SendBatch(std::span<const OutgoingDatagram> batch, std::error_code* ec);

  // Waits until the socket can take another datagram (or is closed); may also return early
  // (callers retry the send).
  boost::asio::awaitable<void> WaitWritable();
  // The same, blocking the calling thread for at most `limit`; false if it did not become
  // writable in time. For the leaves of a stop, when no other work is left to do.
  bool WaitWritableFor(std::chrono::nanoseconds limit);

  // Converts `address` for sending from this socket (IPv4 -> v4-mapped on a dual-stack
  // IPv6 socket). Returns false if this socket cannot reach that address family.
  bool Reachable(boost::asio::ip::udp::endpoint& to) const;

  boost::asio::ip::udp::endpoint local_endpoint() const;
  // Datagrams the kernel dropped because the receive buffer was full (the socket's drop
  // counter, SO_MEMINFO), as of the latest wake-up that received anything.
  std::uint64_t kernel_drops() const { return kernel_drops_; }
  void Close();

 private:
  struct ReceiveScratch;  // recvmmsg headers and buffers, allocated once

  explicit UdpEndpoint(boost::asio::io_context& io);

  // Receives up to kMaxDrainRounds batches, handing each to handler_; returns how many
  // datagrams. Stops early when the socket is empty.
  std::size_t Drain();
  // Reads one recvmmsg batch into scratch_; returns its size (0: nothing queued or an error,
  // reported to on_error_).
  std::size_t ReceiveBatch();
  // Reads the kernel's drop counter for this socket into kernel_drops_: one getsockopt per
  // wake-up, where a control message on every datagram (SO_RXQ_OVFL) cost about 7 % of the
  // receive path flat out.
  void ReadKernelDrops();
  // Takes the socket out of the reactor (epoll) for a hold, and puts it back.
  void Unregister();
  void Register();

  // Drain yields after this many batches, so timers and the API run during a flood.
  static constexpr std::size_t kMaxDrainRounds = 64;
  // WaitWritable's poll during a hold when coalescing was switched off meanwhile.
  static constexpr std::chrono::nanoseconds kMinPause{100'000};

  // Owns fd_ while registered_; during a hold fd_ is released from it (and from epoll).
  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer hold_timer_;
  int fd_ = -1;
  bool open_ = false;
  bool registered_ = true;
  boost::asio::ip::udp protocol_ = boost::asio::ip::udp::v4();
  boost::asio::ip::udp::endpoint local_;
  bool ipv6_ = false;
  bool dual_stack_ = false;
  std::unique_ptr<ReceiveScratch> scratch_;
  BatchHandler handler_;
  std::function<void(const std::error_code&)> on_error_;
  bool draining_ = false;
  bool holding_ = false;
  std::chrono::nanoseconds coalesce_window_{0};
  std::uint64_t kernel_drops_ = 0;
  std::uint64_t wakeups_ = 0;
};

}  // namespace vigil
