#include "transport/udp_endpoint.h"

#include <linux/sock_diag.h>  // SK_MEMINFO_*
#include <netinet/in.h>         // IP_MTU_DISCOVER
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace vigil {

namespace asio = boost::asio;
using asio::ip::udp;

UdpEndpoint::UdpEndpoint(asio::io_context& io)
    : socket_(io), hold_timer_(io), scratch_(std::make_unique<ReceiveScratch>()) {}

UdpEndpoint::~UdpEndpoint() {
  if (open_ && !registered_) ::close(fd_);  // socket_ owns it otherwise
}

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
    // it at net.core.rmem_max. What it still drops, ReadKernelDrops reads.
    const int bytes = 4 << 20;
    ::setsockopt(ep->socket_.native_handle(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  if (!ec) {
    // Never fragment locally, whatever the path MTU (PROBE: DF that the kernel may not
    // override): a heartbeat (141 bytes at most) never needs it, and then the kernel gives
    // each datagram of this unconnected socket IP id 0 instead of drawing one from its
    // shared generator (about a tenth of the kernel's cost of sending a heartbeat round,
    // measured on loopback). Best effort, for IPv4 (and v4-mapped) sends.
    const int probe = IP_PMTUDISC_PROBE;
    ::setsockopt(ep->socket_.native_handle(), IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe);
  }
  if (!ec) ep->socket_.bind(bind, ec);
  if (!ec) ep->local_ = ep->socket_.local_endpoint(ec);
  if (ec) {
    return Status::IOError("cannot bind UDP " + bind.address().to_string() + ":" +
                           std::to_string(bind.port()) + ": " + ec.message());
  }
  ep->protocol_ = bind.protocol();
  ep->fd_ = ep->socket_.native_handle();
  ep->open_ = true;
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

struct UdpEndpoint::ReceiveScratch {
  std::array<std::array<std::uint8_t, kReceiveBufferSize>, kBatchSize> buffers{};
  std::array<mmsghdr, kBatchSize> headers{};
  std::array<iovec, kBatchSize> iovs{};
  std::array<sockaddr_storage, kBatchSize> addrs{};
  std::array<ReceivedDatagram, kBatchSize> batch{};
};

std::size_t UdpEndpoint::ReceiveBatch() {
  ReceiveScratch& s = *scratch_;
  for (std::size_t i = 0; i < kBatchSize; ++i) {
    s.iovs[i] = {s.buffers[i].data(), s.buffers[i].size()};
    s.headers[i] = {};
    s.headers[i].msg_hdr.msg_iov = &s.iovs[i];
    s.headers[i].msg_hdr.msg_iovlen = 1;
    s.headers[i].msg_hdr.msg_name = &s.addrs[i];
    s.headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
  const int n = ::recvmmsg(fd_, s.headers.data(),
                           static_cast<unsigned>(kBatchSize), MSG_DONTWAIT, nullptr);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      on_error_(std::error_code(errno, std::system_category()));
    }
    return 0;
  }
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
    const auto& h = s.headers[i];
    ReceivedDatagram& d = s.batch[i];
    d.data = std::span<const std::uint8_t>(s.buffers[i].data(),
                                           std::min<std::size_t>(h.msg_len, kReceiveBufferSize));
    d.truncated = (h.msg_hdr.msg_flags & MSG_TRUNC) != 0;
    const std::size_t addr_len = std::min<std::size_t>(h.msg_hdr.msg_namelen, d.from.capacity());
    std::memcpy(d.from.data(), &s.addrs[i], addr_len);
    d.from.resize(addr_len);
  }
  return static_cast<std::size_t>(n);
}

void UdpEndpoint::ReadKernelDrops() {
  std::array<std::uint32_t, SK_MEMINFO_VARS> meminfo{};
  socklen_t length = sizeof meminfo;
  if (::getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, meminfo.data(), &length) == 0 &&
      length > SK_MEMINFO_DROPS * sizeof(std::uint32_t)) {
    kernel_drops_ = meminfo[SK_MEMINFO_DROPS];  // cumulative since the socket opened
  }
}

std::size_t UdpEndpoint::Drain() {
  draining_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{draining_};  // also if the handler throws
  std::size_t total = 0;
  for (std::size_t round = 0; round < kMaxDrainRounds && open_; ++round) {
    const std::size_t n = ReceiveBatch();
    total += n;
    if (n > 0 && round == 0) ReadKernelDrops();  // once a wake-up, before the handler sees it
    if (n > 0) handler_(std::span<const ReceivedDatagram>(scratch_->batch.data(), n));
    if (n < kBatchSize) break;
  }
  return total;
}

std::size_t UdpEndpoint::DrainPending() {
  if (!handler_ || draining_ || !open_) return 0;
  return Drain();
}

asio::awaitable<void> UdpEndpoint::ReceiveLoop(
    BatchHandler handler, std::function<void(const std::error_code&)> on_error) {
  handler_ = std::move(handler);
  on_error_ = std::move(on_error);
  using Clock = std::chrono::steady_clock;
  Clock::time_point last_data{};  // when a drain last found datagrams
  while (open_) {
    auto [wait_ec] = co_await socket_.async_wait(udp::socket::wait_read,
                                                 asio::as_tuple(asio::use_awaitable));
    if (!open_) co_return;
    if (wait_ec) {
      if (wait_ec != asio::error::operation_aborted) on_error_(wait_ec);
      continue;
    }
    ++wakeups_;
    const Clock::time_point woke = Clock::now();
    const bool dense = woke - last_data < coalesce_window_;
    std::size_t got = Drain();
    if (got > 0) last_data = woke;
    if (!dense || got == 0 || got >= kMaxDrainRounds * kBatchSize) continue;
    // Datagrams closer together than the window: gather them for a window per wake-up
    // instead of waking for each, until the traffic thins out (a drain finds nothing). The
    // socket leaves the reactor meanwhile: registered, every arriving datagram would wake
    // the thread (epoll reports each one), even with no read waiting.
    Unregister();
    holding_ = true;
    while (got > 0 && open_ && coalesce_window_.count() > 0) {
      if (got >= kMaxDrainRounds * kBatchSize) {
        // A flood: drain on after letting timers and the API run, without sleeping.
        co_await asio::post(hold_timer_.get_executor(), asio::use_awaitable);
      } else {
        hold_timer_.expires_after(coalesce_window_);
        co_await hold_timer_.async_wait(asio::as_tuple(asio::use_awaitable));  // cancelled: Close
      }
      if (!open_) break;
      ++wakeups_;
      got = Drain();
      if (got > 0) last_data = Clock::now();
    }
    holding_ = false;
    if (!open_) co_return;
    Register();
  }
}

bool UdpEndpoint::SendTo(std::span<const std::uint8_t> data, const udp::endpoint& to,
                         std::error_code* ec) {
  if (::sendto(fd_, data.data(), data.size(), MSG_DONTWAIT, to.data(),
               static_cast<socklen_t>(to.size())) < 0) {
    *ec = std::error_code(errno, std::system_category());
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
    const int sent = ::sendmmsg(fd_, headers.data(), static_cast<unsigned>(n),
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
  // While the receive loop holds the socket out of the reactor (which may last as long as
  // traffic is dense), look for room once per window.
  while (open_ && !registered_) {
    asio::steady_timer pause(hold_timer_.get_executor(), std::max(coalesce_window_, kMinPause));
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    pollfd p{fd_, POLLOUT, 0};
    if (open_ && ::poll(&p, 1, 0) == 1) co_return;
  }
  if (open_) {
    co_await socket_.async_wait(udp::socket::wait_write, asio::as_tuple(asio::use_awaitable));
  }
}

bool UdpEndpoint::WaitWritableFor(std::chrono::nanoseconds limit) {
  pollfd p{fd_, POLLOUT, 0};
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(limit).count();
  return ::poll(&p, 1, static_cast<int>(std::clamp<std::int64_t>(ms, 0, 60'000))) == 1;
}

udp::endpoint UdpEndpoint::local_endpoint() const { return local_; }

void UdpEndpoint::Close() {
  if (!open_) return;
  open_ = false;
  boost::system::error_code ec;
  if (registered_) {
    socket_.close(ec);
  } else {
    ::close(fd_);
  }
  fd_ = -1;
  hold_timer_.cancel();
}

void UdpEndpoint::Unregister() {
  boost::system::error_code ec;
  socket_.release(ec);  // cancels nothing of ours; a send's wait for room ends, and retries
  registered_ = false;
}

void UdpEndpoint::Register() {
  boost::system::error_code ec;
  socket_.assign(protocol_, fd_, ec);
  if (!ec) socket_.non_blocking(true, ec);
  if (ec) {
    // Not back in the reactor: nothing would be heard again. Fail loudly (the daemon's
    // supervision stops it) rather than run deaf.
    boost::system::error_code ignored;
    if (socket_.is_open()) {
      socket_.close(ignored);
    } else {
      ::close(fd_);
    }
    open_ = false;
    fd_ = -1;
    throw std::system_error(ec, "cannot return the UDP socket to the event loop");
  }
  registered_ = true;
}

}  // namespace vigil
