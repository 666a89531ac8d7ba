// The UDP socket heartbeats travel on: batched receive (recvmmsg), non-blocking send.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

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

  // Opens a socket bound to `bind`. An IPv6 wildcard bind accepts IPv4 too (dual stack).
  // On failure: IOError naming the address and cause.
  static Result<std::unique_ptr<UdpEndpoint>> Open(boost::asio::io_context& io,
                                                   const boost::asio::ip::udp::endpoint& bind);

  // Receives until Close(): waits for readability, then drains the socket in batches of up
  // to kBatchSize with recvmmsg and hands each batch to `handler`. Errors other than
  // cancellation are reported to `on_error` and the loop re-arms.
  boost::asio::awaitable<void> ReceiveLoop(BatchHandler handler,
                                           std::function<void(const std::error_code&)> on_error);

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

  // Waits until the socket can take another datagram (or is closed).
  boost::asio::awaitable<void> WaitWritable();
  // The same, blocking the calling thread for at most `limit`; false if it did not become
  // writable in time. For the leaves of a stop, when no other work is left to do.
  bool WaitWritableFor(std::chrono::nanoseconds limit);

  // Converts `address` for sending from this socket (IPv4 -> v4-mapped on a dual-stack
  // IPv6 socket). Returns false if this socket cannot reach that address family.
  bool Reachable(boost::asio::ip::udp::endpoint& to) const;

  boost::asio::ip::udp::endpoint local_endpoint() const;
  // Datagrams the kernel dropped because the receive buffer was full (SO_RXQ_OVFL), as of
  // the last datagram received.
  std::uint64_t kernel_drops() const { return kernel_drops_; }
  void Close();

 private:
  explicit UdpEndpoint(boost::asio::io_context& io);

  boost::asio::ip::udp::socket socket_;
  bool ipv6_ = false;
  bool dual_stack_ = false;
  std::vector<std::array<std::uint8_t, kReceiveBufferSize>> buffers_;
  std::uint64_t kernel_drops_ = 0;
};

}  // namespace vigil
