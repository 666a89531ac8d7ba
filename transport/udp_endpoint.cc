#include "transport/udp_endpoint.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vigil {

namespace asio = boost::asio;
using asio::ip::udp;

UdpEndpoint::UdpEndpoint(asio::io_context& io) : socket_(io), buffers_(kBatchSize) {}

Result<std::unique_ptr<UdpEndpoint>> UdpEndpoint::Open(asio::io_context& io, const udp::endpoint& bind) {
  std::unique_ptr<UdpEndpoint> ep(new UdpEndpoint(io));
  boost::system::error_code ec;
  ep->socket_.open(bind.protocol(), ec);
  if (!ec && bind.address().is_v6()) {
    ep->ipv6_ = true;
    // A wildcard IPv6 bind serves IPv4 peers too; a specific address stays single-stack.
    ep->dual_stack_ = bind.address().is_unspecified();
    ep->socket_.set_option(asio::ip::v6_only(!ep->dual_stack_), ec);
  }
  if (!ec) ep->socket_.non_blocking(true, ec);
  if (!ec) {
    // A larger receive buffer rides out bursts (many peers, a stalled loop); the kernel caps
    // it at net.core.rmem_max. SO_RXQ_OVFL makes the kernel report what it still dropped.
    const int bytes = 4 << 20;
    ::setsockopt(ep->socket_.native_handle(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    const int on = 1;
    ::setsockopt(ep->socket_.native_handle(), SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
  }
  if (!ec) ep->socket_.bind(bind, ec);
  if (ec) {
    return Status::IOError("cannot bind UDP " + bind.address().to_string() + ":" +
                           std::to_string(bind.port()) + ": " + ec.message());
  }
  return ep;
}

bool UdpEndpoint::Reachable(udp::endpoint& to) const {
  if (!ipv6_) return to.address().is_v4();
  if (to.address().is_v6()) return true;
  if (!dual_stack_) return false;
  to = udp::endpoint(asio::ip::make_address_v6(asio::ip::v4_mapped, to.address().to_v4()),
                     to.port());
  return true;
}

asio::awaitable<void> UdpEndpoint::ReceiveLoop(
    BatchHandler handler, std::function<void(const std::error_code&)> on_error) {
  std::array<mmsghdr, kBatchSize> headers{};
  std::array<iovec, kBatchSize> iovs{};
  std::array<sockaddr_storage, kBatchSize> addrs{};
  // Room for the SO_RXQ_OVFL control message (a uint32 drop counter) per datagram.
  std::array<std::array<char, CMSG_SPACE(sizeof(std::uint32_t))>, kBatchSize> controls{};
  std::array<ReceivedDatagram, kBatchSize> batch{};
  while (socket_.is_open()) {
    auto [wait_ec] = co_await socket_.async_wait(udp::socket::wait_read,
                                                 asio::as_tuple(asio::use_awaitable));
    if (wait_ec == asio::error::operation_aborted || !socket_.is_open()) co_return;
    if (wait_ec) {
      on_error(wait_ec);
      continue;
    }
    // Drain what is queued, but yield after a bounded amount so timers and the API run.
    for (int round = 0; round < 64; ++round) {
      for (std::size_t i = 0; i < kBatchSize; ++i) {
        iovs[i] = {buffers_[i].data(), buffers_[i].size()};
        headers[i] = {};
        headers[i].msg_hdr.msg_iov = &iovs[i];
        headers[i].msg_hdr.msg_iovlen = 1;
        headers[i].msg_hdr.msg_name = &addrs[i];
        headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        headers[i].msg_hdr.msg_control = controls[i].data();
        headers[i].msg_hdr.msg_controllen = controls[i].size();
      }
      const int n = ::recvmmsg(socket_.native_handle(), headers.data(),
                               static_cast<unsigned>(kBatchSize), MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          on_error(std::error_code(errno, std::system_category()));
        }
        break;
      }
      for (int i = 0; i < n; ++i) {
        const auto& h = headers[static_cast<std::size_t>(i)];
        ReceivedDatagram& d = batch[static_cast<std::size_t>(i)];
        const std::size_t len = std::min<std::size_t>(h.msg_len, kReceiveBufferSize);
        d.data = std::span<const std::uint8_t>(buffers_[static_cast<std::size_t>(i)].data(), len);
        d.truncated = (h.msg_hdr.msg_flags & MSG_TRUNC) != 0;
        udp::endpoint from;
        const std::size_t addr_len =
            std::min<std::size_t>(h.msg_hdr.msg_namelen, from.capacity());
        std::memcpy(from.data(), &addrs[static_cast<std::size_t>(i)], addr_len);
        from.resize(addr_len);
        d.from = from;
        for (cmsghdr* c = CMSG_FIRSTHDR(&h.msg_hdr); c != nullptr;
             c = CMSG_NXTHDR(const_cast<msghdr*>(&h.msg_hdr), c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            std::uint32_t dropped = 0;
            std::memcpy(&dropped, CMSG_DATA(c), sizeof dropped);
            kernel_drops_ = dropped;  // cumulative since the socket opened
          }
        }
      }
      if (n > 0) handler(std::span<const ReceivedDatagram>(batch.data(), static_cast<std::size_t>(n)));
      if (static_cast<std::size_t>(n) < kBatchSize) break;
    }
  }
}

bool UdpEndpoint::SendTo(std::span<const std::uint8_t> data, const udp::endpoint& to,
                         std::error_code* ec) {
  boost::system::error_code bec;
  socket_.send_to(asio::buffer(data.data(), data.size()), to, 0, bec);
  if (bec) {
    *ec = bec;
    return false;
  }
  return true;
}

std::size_t UdpEndpoint::SendBatch(std::span<const OutgoingDatagram> batch, std::error_code* ec) {
  constexpr std::size_t kMaxBatch = 64;
  std::array<mmsghdr, kMaxBatch> headers{};
  std::array<iovec, kMaxBatch> iovs{};
  std::size_t done = 0;
  while (done < batch.size()) {
    const std::size_t n = std::min(kMaxBatch, batch.size() - done);
    for (std::size_t i = 0; i < n; ++i) {
      const OutgoingDatagram& d = batch[done + i];
      iovs[i] = {const_cast<std::uint8_t*>(d.data.data()), d.data.size()};
      headers[i] = {};
      headers[i].msg_hdr.msg_iov = &iovs[i];
      headers[i].msg_hdr.msg_iovlen = 1;
      headers[i].msg_hdr.msg_name = const_cast<sockaddr*>(d.to->data());
      headers[i].msg_hdr.msg_namelen = static_cast<socklen_t>(d.to->size());
    }
    const int sent = ::sendmmsg(socket_.native_handle(), headers.data(), static_cast<unsigned>(n),
                                MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      *ec = std::error_code(errno, std::system_category());
      return done;
    }
    // Fewer than n: the next call reports why the next datagram was refused.
    done += static_cast<std::size_t>(sent);
  }
  return done;
}

asio::awaitable<void> UdpEndpoint::WaitWritable() {
  co_await socket_.async_wait(udp::socket::wait_write, asio::as_tuple(asio::use_awaitable));
}

bool UdpEndpoint::WaitWritableFor(std::chrono::nanoseconds limit) {
  pollfd p{socket_.native_handle(), POLLOUT, 0};
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(limit).count();
  return ::poll(&p, 1, static_cast<int>(std::clamp<std::int64_t>(ms, 0, 60'000))) == 1;
}

udp::endpoint UdpEndpoint::local_endpoint() const {
  boost::system::error_code ec;
  return socket_.local_endpoint(ec);
}

void UdpEndpoint::Close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

}  // namespace vigil
