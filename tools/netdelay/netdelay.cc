// vigil-netdelay: holds every packet of an NFQUEUE queue for delay ± jitter, then accepts it.
//
// The kernel here has no netem qdisc, so the fault suite (tests/faults) delays heartbeats in
// user space:
//   iptables-legacy -A OUTPUT -p udp --dport 7946 -j NFQUEUE --queue-num 0
//   vigil-netdelay --queue 0 --delay-ms 20 --jitter-ms 10
// Each packet's hold is drawn uniformly from [delay - jitter, delay + jitter] (never below
// zero), independently, so jitter larger than the send interval reorders packets as a real
// network would. Verdicts may be issued out of order; the kernel allows that.
//
// Prints "ready" on stdout once the queue is bound (tests wait for it); on stderr, a line for
// every batch released more than 50 ms after its time (the helper itself was not running);
// on SIGTERM/SIGINT accepts everything still held and prints how many packets it delayed and
// the latest release.
// <arpa/inet.h> must come before the netfilter headers, which pull in <linux/in.h>.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Held {
  int64_t release_ns;
  uint32_t packet_id;
  bool operator>(const Held& o) const { return release_ns > o.release_ns; }
};

struct State {
  std::priority_queue<Held, std::vector<Held>, std::greater<>> held;
  std::mt19937_64 rng;
  double delay_ms = 0;
  double jitter_ms = 0;
  uint64_t delayed = 0;
  int64_t latest_ns = 0;  // the latest any release came after its time
};

int OnPacket(nfq_q_handle*, nfgenmsg*, nfq_data* nfa, void* data) {
  auto* state = static_cast<State*>(data);
  const nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
  if (ph == nullptr) return 0;
  std::uniform_real_distribution<double> hold(state->delay_ms - state->jitter_ms,
                                              state->delay_ms + state->jitter_ms);
  double ms = hold(state->rng);
  if (ms < 0) ms = 0;
  state->held.push({NowNs() + static_cast<int64_t>(ms * 1e6), ntohl(ph->packet_id)});
  ++state->delayed;
  return 0;
}

// Lets every packet whose hold has ended through. A release more than kLateNs after its time
// means this process was not running (a starved or descheduled helper): it is printed with
// the CLOCK_MONOTONIC time, so a failed scenario can tell such a stall from its fault.
constexpr int64_t kLateNs = 50'000'000;

void ReleaseDue(nfq_q_handle* qh, State& state, int64_t now) {
  int64_t worst = 0;
  int late = 0;
  while (!state.held.empty() && state.held.top().release_ns <= now) {
    const int64_t lateness = now - state.held.top().release_ns;
    worst = std::max(worst, lateness);
    late += lateness > kLateNs ? 1 : 0;
    nfq_set_verdict(qh, state.held.top().packet_id, NF_ACCEPT, 0, nullptr);
    state.held.pop();
  }
  state.latest_ns = std::max(state.latest_ns, worst);
  if (late > 0) {
    std::fprintf(stderr,
                 "vigil-netdelay: at %.3f ms (monotonic) released %d packet(s) up to %.0f ms "
                 "late\n",
                 static_cast<double>(now) / 1e6, late, static_cast<double>(worst) / 1e6);
  }
}

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "vigil-netdelay: %s\n"
               "usage: vigil-netdelay --queue N --delay-ms D [--jitter-ms J] [--seed S]\n",
               why);
  std::exit(2);
}

double ParseNumber(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || v < 0 || v > 60'000) {
    Usage((std::string(flag) + ": expected a number of milliseconds 0-60000, found '" + text +
           "'").c_str());
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  State state;
  int queue_num = -1;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) Usage((arg + " needs a value").c_str());
    const char* value = argv[++i];
    if (arg == "--queue") {
      queue_num = static_cast<int>(ParseNumber("--queue", value));
    } else if (arg == "--delay-ms") {
      state.delay_ms = ParseNumber("--delay-ms", value);
    } else if (arg == "--jitter-ms") {
      state.jitter_ms = ParseNumber("--jitter-ms", value);
    } else if (arg == "--seed") {
      seed = static_cast<uint64_t>(ParseNumber("--seed", value));
    } else {
      Usage(("unknown option " + arg).c_str());
    }
  }
  if (queue_num < 0 || queue_num > 65535) Usage("--queue is required (0-65535)");
  state.rng.seed(seed);

  nfq_handle* h = nfq_open();
  if (h == nullptr) {
    std::perror("vigil-netdelay: nfq_open (needs CAP_NET_ADMIN)");
    return 1;
  }
  nfq_q_handle* qh = nfq_create_queue(h, static_cast<uint16_t>(queue_num), &OnPacket, &state);
  if (qh == nullptr) {
    std::perror("vigil-netdelay: nfq_create_queue (is the queue number already bound?)");
    nfq_close(h);
    return 1;
  }
  // Metadata only: the helper never looks at or rewrites the payload.
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(qh, 65536) < 0) {
    std::perror("vigil-netdelay: configuring the queue");
    return 1;
  }
  // If we cannot keep up, let packets through rather than dropping them: the scenario asked
  // for delay, not loss.
  nfq_set_queue_flags(qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  std::printf("ready\n");
  std::fflush(stdout);

  const int fd = nfq_fd(h);
  std::vector<char> buf(65536);
  while (g_stop == 0) {
    int timeout_ms = 100;
    if (!state.held.empty()) {
      const int64_t wait_ns = state.held.top().release_ns - NowNs();
      timeout_ms = wait_ns <= 0 ? 0 : static_cast<int>((wait_ns + 999'999) / 1'000'000);
      if (timeout_ms > 100) timeout_ms = 100;
    }
    pollfd pfd{fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, timeout_ms);
    if (ready > 0) {
      const ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0) nfq_handle_packet(h, buf.data(), static_cast<int>(n));
      // ENOBUFS means the kernel dropped queue messages; those packets were already let
      // through (fail-open) or dropped by the kernel; nothing to do but carry on.
    }
    ReleaseDue(qh, state, NowNs());
  }
  while (!state.held.empty()) {
    nfq_set_verdict(qh, state.held.top().packet_id, NF_ACCEPT, 0, nullptr);
    state.held.pop();
  }
  std::fprintf(stderr,
               "vigil-netdelay: delayed %llu packets; the latest release was %.1f ms late\n",
               static_cast<unsigned long long>(state.delayed),
               static_cast<double>(state.latest_ns) / 1e6);
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}
