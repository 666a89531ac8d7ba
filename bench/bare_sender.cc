// vigil-bare-sender: the baseline of bench/measure_load.py's scale run. Sends one datagram
// of --size bytes to each of --peers loopback addresses every --interval-ms, and does nothing
// else: each round cut into sendmmsg batches of 128 spread over half the interval, the way
// vigild paces its heartbeat rounds (daemon/send_schedule.h), from a socket set up as
// vigild's is (DF set: transport/udp_endpoint.cc). What it costs per datagram is
// the kernel's send path (on loopback, the receiving side's too, down to the ICMP "port
// unreachable" where nobody listens); vigild's cost for the same rounds is compared to it.
//
//   vigil-bare-sender --port P --peers N [--seconds 20] [--interval-ms 1000] [--size 46]
//
// The addresses are the scale run's: peer i at 127.(1 + i / 65536).((i / 256) % 256).(i % 256).
// Prints {"sent":N,"errors":E,"seconds":S,"cpu_seconds":C} (C: its own user + system time).
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kSlice = 128;  // as vigild's kSendSliceSize

double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

double Now() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

void SleepUntil(double t) {
  const double left = t - Now();
  if (left <= 0) return;
  const auto whole = static_cast<time_t>(left);
  timespec d{whole, static_cast<long>((left - static_cast<double>(whole)) * 1e9)};
  ::nanosleep(&d, nullptr);
}

sockaddr_in PeerAddress(std::size_t i, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const auto host = static_cast<std::uint32_t>((127u << 24) | ((1 + i / 65536) << 16) |
                                               (((i / 256) % 256) << 8) | (i % 256));
  a.sin_addr.s_addr = htonl(host);
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  long peers = 0, interval_ms = 1000, size = 46;
  double seconds = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--port") port = std::atoi(argv[i + 1]);
    if (flag == "--peers") peers = std::atol(argv[i + 1]);
    if (flag == "--seconds") seconds = std::atof(argv[i + 1]);
    if (flag == "--interval-ms") interval_ms = std::atol(argv[i + 1]);
    if (flag == "--size") size = std::atol(argv[i + 1]);
  }
  if (port <= 0 || port > 65535 || peers <= 0 || peers > 16'000'000 || interval_ms <= 0 ||
      size <= 0 || size > 1400 || seconds <= 0) {
    std::fprintf(stderr, "usage: vigil-bare-sender --port P --peers N [--seconds S] "
                         "[--interval-ms MS] [--size BYTES]\n");
    return 2;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  // As vigild's socket (transport/udp_endpoint.cc): DF set, so the kernel draws no IP id.
  const int probe = IP_PMTUDISC_PROBE;
  ::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe);
  std::vector<sockaddr_in> to(static_cast<std::size_t>(peers));
  for (std::size_t i = 0; i < to.size(); ++i) to[i] = PeerAddress(i, port);
  std::vector<char> payload(static_cast<std::size_t>(size), 'v');
  std::vector<iovec> iovs(kSlice, iovec{payload.data(), payload.size()});
  std::vector<mmsghdr> headers(kSlice);
  const double interval = static_cast<double>(interval_ms) / 1000;
  const std::size_t slices = (to.size() + kSlice - 1) / kSlice;
  const double spacing = interval * 0.5 / static_cast<double>(slices);
  std::uint64_t sent = 0, errors = 0;
  const double cpu0 = CpuSeconds(), start = Now();
  for (double round = start; round < start + seconds; round += interval) {
    for (std::size_t s = 0; s < slices; ++s) {
      SleepUntil(round + spacing * static_cast<double>(s));
      const std::size_t begin = s * kSlice, n = std::min(kSlice, to.size() - begin);
      for (std::size_t i = 0; i < n; ++i) {
        headers[i] = {};
        headers[i].msg_hdr.msg_iov = &iovs[i];
        headers[i].msg_hdr.msg_iovlen = 1;
        headers[i].msg_hdr.msg_name = &to[begin + i];
        headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      }
      std::size_t done = 0;
      while (done < n) {
        const int k = ::sendmmsg(fd, headers.data() + done, static_cast<unsigned>(n - done), 0);
        if (k <= 0) {  // as vigild: that datagram is lost, the others go on
          ++errors;
          ++done;
          continue;
        }
        done += static_cast<std::size_t>(k);
        sent += static_cast<std::uint64_t>(k);
      }
    }
    SleepUntil(round + interval);
  }
  std::printf("{\"sent\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"cpu_seconds\":%.6f}\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(errors),
              Now() - start, CpuSeconds() - cpu0);
  return 0;
}
