// vigil-loadgen: valid heartbeats from many senders, for the ingest benchmark
// (bench/measure_ingest.py), the coalescing test and the million-peer runs (issue 14).
//
//   vigil-loadgen --to 127.0.0.1:7946 --senders 10000 [--prefix user-] [--keyring FILE]
//                 [--rate 0] [--seconds 5] [--count 0] [--sources 16] [--gso]
//                 [--interval 10s] [--incarnation 0] [--silence-every 0 --silence-at 0]
//                 [--wire-version 3]
//
// Sender i is `<prefix><i>`, zero-padded so every datagram has the same size. Heartbeats go
// round after round to senders 0..N-1 (round r carries sequence r+1), so with --rate R each
// sender is heard every N/R seconds: set --interval to that, as the receiver's
// heartbeat.interval. --rate R spreads datagrams evenly, one at a time, datagram k at
// start + k/R (sleeping, then spinning for the last 100 µs); --rate 0 sends flat out with
// sendmmsg, or with UDP GSO (--gso: 64 segments per send). Flat out with --count, every
// datagram is built (and signed) before the clock starts, so the sender is not the limit.
// Datagrams leave from --sources sockets bound to 127.1.x.y, 64 consecutive datagrams per
// socket. With --silence-every M, senders whose index is a multiple of M stop after
// --silence-at seconds (a crash of 1/M of them). Prints one JSON line:
// {"sent":N,"seconds":S,"rate":R,"errors":E,"senders":N,"silenced":K,"size":B}.
// --first-sequence continues the sequence numbers of an earlier run with the same
// --incarnation (a warm-up round, then the measured run). --redis sends the seed's design
// instead: `SET <id> 1 EX 30` per heartbeat to a redis-server, paced the same way.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "base/value_text.h"
#include "tools/loadgen/pacing.h"
#include "tools/loadgen/redis_feed.h"
#include "tools/tool_options.h"
#include "transport/keyring.h"
#include "transport/wire_format.h"

namespace po = boost::program_options;

namespace vigil {
namespace {

constexpr std::size_t kChunk = 64;  // consecutive datagrams per socket; one GSO send

#ifndef UDP_SEGMENT
constexpr int UDP_SEGMENT = 103;
#endif

struct Options {
  std::string to;
  std::uint64_t senders = 1000;
  std::string prefix = "user-";
  std::string keyring;
  double rate = 0;
  double seconds = 5;
  std::uint64_t count = 0;
  unsigned sources = 16;
  bool gso = false;
  std::string interval = "10s";
  std::uint64_t incarnation = 0;
  std::uint64_t silence_every = 0;
  double silence_at = 0;
  std::uint64_t first_sequence = 1;
  bool redis = false;
  unsigned wire_version = kWireVersion;
};

// Builds heartbeat k: sender k % senders, round k / senders.
class HeartbeatMaker {
 public:
  HeartbeatMaker(const Options& o, std::optional<Key> key, std::uint32_t interval_us)
      : o_(o), key_(key), interval_us_(interval_us),
        width_(fmt::format("{}", o.senders - 1).size()),
        incarnation_(o.incarnation ? o.incarnation
                                   : static_cast<std::uint64_t>(
                                         std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count())) {}

  // Writes heartbeat k into `out` (kMaxMessageSize bytes); returns its size (0: invalid).
  std::size_t Make(std::uint64_t k, std::uint8_t* out) const {
    const std::uint64_t sender = k % o_.senders;
    const std::string id = fmt::format("{}{:0{}}", o_.prefix, sender, width_);
    Message m;
    m.version = static_cast<std::uint8_t>(o_.wire_version);
    m.incarnation = incarnation_;
    m.sequence = k / o_.senders + o_.first_sequence;
    m.interval_us = interval_us_;
    m.send_time_us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
            .count());
    m.sender_id = id;
    const std::span<std::uint8_t> buffer(out, kMaxMessageSize);
    const std::size_t n = Encode(m, buffer);
    return key_ && n ? Sign(buffer, n, *key_) : n;
  }

  bool Silenced(std::uint64_t k, double elapsed) const {
    return o_.silence_every && (k % o_.senders) % o_.silence_every == 0 &&
           elapsed >= o_.silence_at;
  }

 private:
  const Options& o_;
  std::optional<Key> key_;
  std::uint32_t interval_us_;
  std::size_t width_;
  std::uint64_t incarnation_;
};

std::vector<int> OpenSources(unsigned count) {
  std::vector<int> fds;
  for (unsigned s = 0; s < count; ++s) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl((127u << 24) | (1u << 16) | ((s / 250) << 8) | (s % 250 + 2));
    const int big = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      std::perror("vigil-loadgen: socket/bind on 127.1.0.0/16");
      std::exit(1);
    }
    fds.push_back(fd);
  }
  return fds;
}

// Sends `n` datagrams of `size` bytes, back to back in `data`, from `fd` to `to`: one GSO
// send, or one sendmmsg.
void SendChunk(int fd, const sockaddr_in& to, const std::uint8_t* data, std::size_t size,
               std::size_t n, bool gso, Totals& t) {
  if (gso) {
    iovec iov{const_cast<std::uint8_t*>(data), size * n};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
    msghdr h{};
    h.msg_name = const_cast<sockaddr_in*>(&to);
    h.msg_namelen = sizeof to;
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    h.msg_control = control;
    h.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    const auto segment = static_cast<std::uint16_t>(size);
    std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    if (::sendmsg(fd, &h, 0) < 0) {
      t.errors += n;
    } else {
      t.sent += n;
    }
    return;
  }
  iovec iov[kChunk];
  mmsghdr msgs[kChunk] = {};
  for (std::size_t i = 0; i < n; ++i) {
    iov[i] = {const_cast<std::uint8_t*>(data + i * size), size};
    msgs[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&to);
    msgs[i].msg_hdr.msg_namelen = sizeof to;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  const int done = ::sendmmsg(fd, msgs, static_cast<unsigned>(n), 0);
  if (done < 0) {
    t.errors += n;
  } else {
    t.sent += static_cast<std::uint64_t>(done);
    t.errors += n - static_cast<std::size_t>(done);
  }
}

// Flat out: chunks of kChunk datagrams, each from one socket; prebuilt when --count is given.
Totals SendFlatOut(const Options& o, const HeartbeatMaker& maker, const std::vector<int>& fds,
                   const sockaddr_in& to, std::size_t size) {
  std::vector<std::uint8_t> prebuilt;
  if (o.count) {
    prebuilt.resize(o.count * size);
    for (std::uint64_t k = 0; k < o.count; ++k) maker.Make(k, prebuilt.data() + k * size);
  }
  std::vector<std::uint8_t> chunk(kChunk * kMaxMessageSize);
  Totals t;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(o.seconds);
  for (std::uint64_t k = 0; (o.count == 0 || k < o.count) && Clock::now() < end; k += kChunk) {
    const std::size_t n = o.count ? std::min<std::uint64_t>(kChunk, o.count - k) : kChunk;
    const std::uint8_t* data = nullptr;
    if (o.count) {
      data = prebuilt.data() + k * size;
    } else {
      for (std::size_t i = 0; i < n; ++i) maker.Make(k + i, chunk.data() + i * size);
      data = chunk.data();
    }
    SendChunk(fds[(k / kChunk) % fds.size()], to, data, size, n, o.gso, t);
  }
  return t;
}

// Paced: datagram k leaves at start + k / rate, one at a time.
Totals SendPaced(const Options& o, const HeartbeatMaker& maker, const std::vector<int>& fds,
                 const sockaddr_in& to) {
  std::uint8_t buffer[kMaxMessageSize];
  Totals t;
  Paced(o.rate, o.seconds, o.count, [&](std::uint64_t k, double elapsed) {
    if (maker.Silenced(k, elapsed)) {
      ++t.silenced;
      return;
    }
    const std::size_t n = maker.Make(k, buffer);
    if (::sendto(fds[(k / kChunk) % fds.size()], buffer, n, 0,
                 reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
      ++t.errors;
    } else {
      ++t.sent;
    }
  });
  return t;
}

std::optional<std::string> Check(const Options& o, sockaddr_in* to) {
  const auto colon = o.to.rfind(':');
  to->sin_family = AF_INET;
  if (colon == std::string::npos ||
      ::inet_pton(AF_INET, o.to.substr(0, colon).c_str(), &to->sin_addr) != 1) {
    return "--to must be IPv4:PORT, found '" + o.to + "'";
  }
  const std::string port_text = o.to.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return "--to: the port must be 1..65535, found '" + port_text + "'";
  }
  to->sin_port = htons(static_cast<std::uint16_t>(port));
  if (o.senders == 0) return "--senders must be at least 1";
  if (o.sources == 0 || o.sources > 60000) return "--sources must be 1..60000";
  if (o.rate < 0) return "--rate must be >= 0";
  if (o.gso && o.rate > 0) return "--gso is for flat out (--rate 0)";
  if (o.silence_every && o.rate == 0) return "--silence-every needs a --rate";
  if (o.redis && (o.rate == 0 || o.gso)) return "--redis needs a --rate (and no --gso)";
  if (o.first_sequence == 0) return "--first-sequence must be at least 1";
  if (o.wire_version != kWireVersion && o.wire_version != kWireVersion2) {
    return "--wire-version must be 2 (BLAKE2b tags) or 3 (SipHash tags)";
  }
  return std::nullopt;
}

int Run(const Options& o) {
  sockaddr_in to{};
  if (auto error = Check(o, &to)) {
    std::cerr << "vigil-loadgen: " << *error << "\n";
    return 2;
  }
  const auto interval = ParseDurationIn(o.interval, false);
  if (!interval) {
    std::cerr << "vigil-loadgen: --interval: " << interval.message() << "\n";
    return 2;
  }
  std::optional<Key> key;
  if (!o.keyring.empty()) {
    auto ring = Keyring::Load(o.keyring);
    if (!InitCrypto() || !ring) {
      std::cerr << "vigil-loadgen: " << (ring ? "cannot initialize libsodium" : ring.message())
                << "\n";
      return 1;
    }
    key = ring->primary();
  }
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // precise sleeps for pacing
  const HeartbeatMaker maker(
      o, key, static_cast<std::uint32_t>(
                  std::chrono::duration_cast<std::chrono::microseconds>(*interval).count()));
  std::uint8_t probe[kMaxMessageSize];
  const std::size_t size = maker.Make(0, probe);
  if (size == 0 && !o.redis) {
    std::cerr << "vigil-loadgen: --prefix makes invalid sender ids (1..64 of [A-Za-z0-9._-])\n";
    return 2;
  }
  const std::vector<int> fds = o.redis ? std::vector<int>{} : OpenSources(o.sources);
  const auto start = Clock::now();
  const Totals t = o.redis      ? SendRedisPaced(
                                     {o.prefix, o.senders, o.rate, o.seconds, o.count, o.sources}, to)
                   : o.rate > 0 ? SendPaced(o, maker, fds, to)
                                : SendFlatOut(o, maker, fds, to, size);
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "{\"sent\":%llu,\"seconds\":%.3f,\"rate\":%.0f,\"errors\":%llu,\"senders\":%llu,"
      "\"silenced\":%llu,\"size\":%zu}\n",
      static_cast<unsigned long long>(t.sent), secs, static_cast<double>(t.sent) / secs,
      static_cast<unsigned long long>(t.errors), static_cast<unsigned long long>(o.senders),
      static_cast<unsigned long long>(t.silenced), size);
  for (int fd : fds) ::close(fd);
  return 0;
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) {
  vigil::Options o;
  po::options_description d("vigil-loadgen options");
  d.add_options()
      ("to", po::value(&o.to)->required(), "receiver IPv4:PORT")
      ("senders", po::value(&o.senders), "distinct sender ids (default 1000)")
      ("prefix", po::value(&o.prefix), "sender id prefix (default user-)")
      ("keyring", po::value(&o.keyring), "sign with this keyring's primary key")
      ("rate", po::value(&o.rate), "heartbeats per second, evenly paced (0: flat out)")
      ("seconds", po::value(&o.seconds), "how long to send (default 5)")
      ("count", po::value(&o.count), "stop after this many heartbeats (0: no limit)")
      ("sources", po::value(&o.sources), "source sockets on 127.1.0.0/16 (default 16)")
      ("gso", po::bool_switch(&o.gso), "flat out with UDP GSO, 64 segments per send")
      ("interval", po::value(&o.interval), "interval the heartbeats advertise (default 10s)")
      ("incarnation", po::value(&o.incarnation), "incarnation (default: now in µs)")
      ("silence-every", po::value(&o.silence_every), "silence every M-th sender ...")
      ("silence-at", po::value(&o.silence_at), "... from this many seconds on")
      ("first-sequence", po::value(&o.first_sequence), "sequence of the first round (default 1)")
      ("wire-version", po::value(&o.wire_version),
       "3 (default; SipHash-2-4 tags) or 2 (BLAKE2b tags, as older vigil sends)")
      ("redis", po::bool_switch(&o.redis),
       "send `SET <prefix><i> 1 EX 30` to a redis-server at --to over --sources TCP connections")
      ("help,h", "print this help");
  if (const auto exit_status = vigil::ParseToolOptions(argc, argv, d, "vigil-loadgen")) {
    return *exit_status;
  }
  return vigil::Run(o);
}
