// vigil-udpflood: sends invalid datagrams at a target as fast as asked, for the flood tests
// (tests/integration/flood_test.cc) and figures (bench/measure_daemon.py --flood).
//
//   vigil-udpflood --to 127.0.0.1:7946 [--rate 0] [--seconds 3] [--count N]
//                  [--kind random|forged] [--min-size 1] [--max-size 1400] [--seed 1]
//                  [--id n2] [--key-id 1]
//
// --rate 0 sends as fast as this machine can (sendmmsg batches of 64). `random` bytes fail
// the magic check (the cheapest reject); `forged` datagrams are well-formed v2 headers of a
// claimed sender ("n2", or --id) with key id --key-id and a random 32-byte tag, so a
// receiver holding that key id has to run the MAC (the costliest reject). Prints one JSON line:
// {"sent":N,"seconds":S,"rate":R,"errors":E}.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/program_options.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tools/tool_options.h"

namespace po = boost::program_options;

namespace {

constexpr std::size_t kBatch = 64;

struct Options {
  std::string to;
  double rate = 0;
  double seconds = 3;
  std::uint64_t count = 0;
  std::string kind = "random";
  std::size_t min_size = 1;
  std::size_t max_size = 1400;
  std::uint64_t seed = 1;
  std::string id = "n2";
  unsigned key_id = 1;
};

bool ParseTarget(const std::string& to, sockaddr_in* out) {
  const auto colon = to.rfind(':');
  if (colon == std::string::npos) return false;
  out->sin_family = AF_INET;
  out->sin_port = htons(static_cast<std::uint16_t>(std::stoi(to.substr(colon + 1))));
  return ::inet_pton(AF_INET, to.substr(0, colon).c_str(), &out->sin_addr) == 1;
}

// A datagram shaped like an authenticated heartbeat (docs/protocol.md) with a tag nobody
// can verify: magic "VG", version 2, type heartbeat, flags "authenticated".
void FillForged(std::vector<std::uint8_t>& b, std::mt19937_64& rng, const Options& o) {
  const std::string& id = o.id;
  b.assign(44 + id.size() + 33, 0);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  b[0] = 'V';
  b[1] = 'G';
  b[2] = 2;
  b[3] = 1;
  b[4] = 0x01;
  b[6] = 0;
  b[7] = 0;
  b[24] |= 0x01;  // a non-zero interval
  b[5] = static_cast<std::uint8_t>(id.size());
  for (std::size_t i = 0; i < id.size(); ++i) b[44 + i] = static_cast<std::uint8_t>(id[i]);
  b[44 + id.size()] = static_cast<std::uint8_t>(o.key_id);
}

void FillRandom(std::vector<std::uint8_t>& b, std::mt19937_64& rng, const Options& o) {
  b.resize(o.min_size + rng() % (o.max_size - o.min_size + 1));
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  if (!b.empty()) b[0] = 0;  // never the magic by chance
}

int Run(const Options& o) {
  sockaddr_in to{};
  if (!ParseTarget(o.to, &to)) {
    std::cerr << "vigil-udpflood: --to must be IPv4:PORT, found '" << o.to << "'\n";
    return 2;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    std::perror("vigil-udpflood: socket");
    return 1;
  }
  std::mt19937_64 rng(o.seed);
  std::array<std::vector<std::uint8_t>, kBatch> bufs;
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(o.seconds);
  std::uint64_t sent = 0, errors = 0;
  while (Clock::now() < end && (o.count == 0 || sent < o.count)) {
    std::size_t n = kBatch;
    if (o.count) n = std::min<std::uint64_t>(n, o.count - sent);
    for (std::size_t i = 0; i < n; ++i) {
      o.kind == "forged" ? FillForged(bufs[i], rng, o) : FillRandom(bufs[i], rng, o);
      iov[i] = {bufs[i].data(), bufs[i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = &to;
      msgs[i].msg_hdr.msg_namelen = sizeof to;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int done = ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
    if (done < 0) {
      ++errors;  // ENOBUFS and the like: the kernel is full, keep going
    } else {
      sent += static_cast<std::uint64_t>(done);
    }
    if (o.rate > 0) {
      const auto due = start + std::chrono::duration<double>(static_cast<double>(sent) / o.rate);
      std::this_thread::sleep_until(due);
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"sent\":%llu,\"seconds\":%.3f,\"rate\":%.0f,\"errors\":%llu}\n",
              static_cast<unsigned long long>(sent), secs, static_cast<double>(sent) / secs,
              static_cast<unsigned long long>(errors));
  ::close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  po::options_description d("vigil-udpflood options");
  d.add_options()
      ("to", po::value(&o.to)->required(), "target IPv4:PORT")
      ("rate", po::value(&o.rate), "datagrams per second (0: as fast as possible)")
      ("seconds", po::value(&o.seconds), "how long to send (default 3)")
      ("count", po::value(&o.count), "stop after this many datagrams (0: no limit)")
      ("kind", po::value(&o.kind), "random (fails the magic) or forged (fails the MAC)")
      ("min-size", po::value(&o.min_size), "random: smallest datagram (default 1)")
      ("max-size", po::value(&o.max_size), "random: largest datagram (default 1400)")
      ("seed", po::value(&o.seed), "random seed (default 1)")
      ("id", po::value(&o.id), "forged: the sender id claimed (default n2)")
      ("key-id", po::value(&o.key_id), "forged: the key id claimed (default 1)")
      ("help,h", "print this help");
  if (const auto exit_status = vigil::ParseToolOptions(argc, argv, d, "vigil-udpflood")) {
    return *exit_status;
  }
  if ((o.kind != "random" && o.kind != "forged") || o.min_size == 0 || o.max_size < o.min_size ||
      o.max_size > 65507 || o.id.empty() || o.id.size() > 64 || o.key_id > 255) {
    std::cerr << "vigil-udpflood: bad --kind or sizes (1 <= min-size <= max-size <= 65507), --id (1..64 bytes) or --key-id (0..255)\n";
    return 2;
  }
  return Run(o);
}
