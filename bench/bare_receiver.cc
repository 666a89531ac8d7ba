// vigil-bare-receiver: the baseline of bench/measure_ingest.py. Receives UDP datagrams and
// does nothing with them: a blocking recvmmsg (MSG_WAITFORONE, batches of 32, like vigild's)
// that wakes whenever at least one datagram is queued. What it costs per datagram is the
// kernel's receive path plus the wake-ups; vigild's cost is compared to it.
//
//   vigil-bare-receiver --port P [--idle-exit-ms 1000]
//
// Prints "ready" once bound, then, when no datagram came for --idle-exit-ms after the first
// one: {"received":N,"wakeups":W,"cpu_seconds":S} (S: its own user + system time).
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr unsigned kBatch = 32;

double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  long idle_ms = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--port") port = std::atoi(argv[i + 1]);
    if (flag == "--idle-exit-ms") idle_ms = std::atol(argv[i + 1]);
  }
  if (port <= 0 || port > 65535 || idle_ms <= 0) {
    std::fprintf(stderr, "usage: vigil-bare-receiver --port P [--idle-exit-ms MS]\n");
    return 2;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int big = 4 << 20;  // as vigild
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("vigil-bare-receiver: bind");
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  static std::array<std::array<char, 2048>, kBatch> buffers;
  std::array<iovec, kBatch> iovs{};
  std::array<mmsghdr, kBatch> headers{};
  std::uint64_t received = 0, wakeups = 0;
  const double cpu0 = CpuSeconds();
  for (;;) {
    if (received > 0 && wakeups == 1) {  // once, after the first datagram
      const timeval idle{idle_ms / 1000, (idle_ms % 1000) * 1000};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    }
    for (unsigned i = 0; i < kBatch; ++i) {
      iovs[i] = {buffers[i].data(), buffers[i].size()};
      headers[i] = {};
      headers[i].msg_hdr.msg_iov = &iovs[i];
      headers[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::recvmmsg(fd, headers.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (n < 0) break;  // idle past the limit (EAGAIN), or interrupted
    ++wakeups;
    received += static_cast<std::uint64_t>(n);
  }
  std::printf("{\"received\":%llu,\"wakeups\":%llu,\"cpu_seconds\":%.6f}\n",
              static_cast<unsigned long long>(received), static_cast<unsigned long long>(wakeups),
              CpuSeconds() - cpu0);
  return 0;
}
