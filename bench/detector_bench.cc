// Micro-benchmarks of the detection hot path. Run from the release build:
//   build/release/bench/vigil_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include "detector/adaptive_detector.h"
#include "quality/replay.h"
#include "quality/trace_generator.h"

#include <algorithm>
#include <array>
#include <memory>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include "config/config.h"
#include "daemon/node.h"
#include "detector/deadline_queue.h"
#include "detector/detector_options.h"
#include "detector/peer_monitor.h"
#include "detector/phi_accrual_detector.h"
#include "transport/keyring.h"
#include "transport/wire_format.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;

struct NullSink : TransitionSink {
  void OnTransition(const Transition&) override {}
};

DetectorOptions Kind(int k) {
  DetectorOptions o;
  o.set_kind(static_cast<DetectorKind>(k));
  return o;
}

// One heartbeat on a known, warmed-up peer: the detector update, the state machine and
// rescheduling in the deadline queue — everything the daemon does per heartbeat after decoding.
void BM_HeartbeatKnownPeer(benchmark::State& state) {
  const DetectorOptions options = Kind(static_cast<int>(state.range(0)));
  PeerMonitor monitor(0, MakeDetector(options, 100ms), {SuspectLevel(options), 1});
  DeadlineQueue queue;
  queue.Resize(1);
  EventIdSource ids;
  NullSink sink;
  MonoTime t{};
  std::uint64_t seq = 0;
  for (int i = 0; i < 2000; ++i) {
    t += 100ms;
    monitor.OnHeartbeat(t, 1, ids, sink, ++seq);
  }
  for (auto _ : state) {
    t += 100ms;
    monitor.OnHeartbeat(t, 1, ids, sink, ++seq);
    queue.Set(0, *monitor.NextDeadline());
  }
  state.SetLabel(std::string(DetectorKindName(options.kind())));
}
BENCHMARK(BM_HeartbeatKnownPeer)->Arg(0)->Arg(1)->Arg(2)->Arg(3);

void BM_LevelAt(benchmark::State& state) {
  auto d = MakeDetector(Kind(static_cast<int>(state.range(0))), 100ms);
  MonoTime t{};
  for (int i = 0; i < 1000; ++i) d->Heartbeat(t += 100ms);
  MonoTime q = t + 150ms;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d->Level(q));
    q += 1us;
  }
  state.SetLabel(std::string(DetectorKindName(static_cast<DetectorKind>(state.range(0)))));
}
BENCHMARK(BM_LevelAt)->Arg(0)->Arg(1)->Arg(2)->Arg(3);

void BM_CrossingTime(benchmark::State& state) {
  auto d = MakeDetector(Kind(static_cast<int>(state.range(0))), 100ms);
  MonoTime t{};
  for (int i = 0; i < 1000; ++i) d->Heartbeat(t += 100ms);
  double level = 8.0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d->CrossingTime(level));
    level = level == 8.0 ? 8.000001 : 8.0;  // defeat caching by the optimizer
  }
  state.SetLabel(std::string(DetectorKindName(static_cast<DetectorKind>(state.range(0)))));
}
BENCHMARK(BM_CrossingTime)->Arg(0)->Arg(1)->Arg(2)->Arg(3);

// The same with a different level every call: phi's closed-form inversion without its cache.
void BM_CrossingTimeNewLevel(benchmark::State& state) {
  auto d = MakeDetector(Kind(static_cast<int>(state.range(0))), 100ms);
  MonoTime t{};
  for (int i = 0; i < 1000; ++i) d->Heartbeat(t += 100ms);
  double level = 8.0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d->CrossingTime(level));
    level += 1e-9;
  }
  state.SetLabel(std::string(DetectorKindName(static_cast<DetectorKind>(state.range(0)))));
}
BENCHMARK(BM_CrossingTimeNewLevel)->Arg(0);

// The whole receive path for one datagram: decode, find the peer, sequence check, monitor,
// reschedule — with N configured peers, heartbeats arriving round-robin.
void BM_NodeDatagram(benchmark::State& state) {
  const int peers = static_cast<int>(state.range(0));
  const bool auth = state.range(1) != 0;
  const Keyring ring = *Keyring::Parse(GenerateKeyBase64());
  Config config;
  config.node.id = "self";
  config.heartbeat.interval = 1s;
  for (int i = 0; i < peers; ++i) {
    PeerConfig p;
    p.id = "node-" + std::to_string(i);
    p.address = Endpoint{"10.0.0.1", static_cast<std::uint16_t>(1000 + i % 60000),
                         Endpoint::HostKind::kIPv4};
    config.peers.push_back(p);
  }
  Node node(config, {MonoTime{}, WallTime{}});
  if (auth) node.SetAuthentication(ring, true);
  std::vector<std::vector<std::uint8_t>> datagrams(static_cast<std::size_t>(peers));
  std::vector<std::uint64_t> seq(static_cast<std::size_t>(peers), 0);
  auto encode = [&](int i) {
    Message m;
    m.sender_id = config.peers[static_cast<std::size_t>(i)].id;
    m.incarnation = 1;
    m.sequence = ++seq[static_cast<std::size_t>(i)];
    m.interval_us = 1000000;
    auto& d = datagrams[static_cast<std::size_t>(i)];
    d.resize(kMaxMessageSize);
    std::size_t n = Encode(m, d);
    if (auth) n = Sign(d, n, ring.primary());
    d.resize(n);
  };
  MonoTime t{};
  // Warm up: every peer up with a full history.
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < peers; ++i) {
      encode(i);
      t += Duration(1s) / peers;
      node.OnDatagram(datagrams[static_cast<std::size_t>(i)], false, {t, WallTime{}});
    }
  }
  // Pre-sign a window of future datagrams per peer so that signing is not timed.
  constexpr int kAhead = 64;
  std::vector<std::vector<std::uint8_t>> ahead(static_cast<std::size_t>(peers) * kAhead);
  auto refill = [&] {
    for (int p = 0; p < peers; ++p) {
      for (int k = 0; k < kAhead; ++k) {
        encode(p);
        ahead[static_cast<std::size_t>(p * kAhead + k)] = datagrams[static_cast<std::size_t>(p)];
      }
    }
  };
  refill();
  int i = 0;
  int k = 0;
  for (auto _ : state) {
    const auto& d = ahead[static_cast<std::size_t>(i * kAhead + k)];
    t += Duration(1s) / peers;
    const auto rejected = node.OnDatagram(d, false, {t, WallTime{}});
    if (rejected) state.SkipWithError("a benchmark datagram was rejected");
    benchmark::DoNotOptimize(rejected);
    if (++i == peers) {
      i = 0;
      if (++k == kAhead) {
        state.PauseTiming();
        refill();
        k = 0;
        state.ResumeTiming();
      }
    }
  }
  state.SetLabel(auth ? "authenticated" : "unauthenticated");
}
BENCHMARK(BM_NodeDatagram)->Args({3, 0})->Args({3, 1})->Args({1000, 0})->Args({1000, 1})
    ->Args({100000, 0});

// The receive path at scale, a batch at a time as vigild takes them (recvmmsg, 32): N
// listed peers, every one heard once a round in a shuffled order, so nearly every
// heartbeat misses the cache on its index slot, record and detector (the sizes are above
// Node::kPrefetchFromPeers, below which Prefetch does nothing). Arg 1 runs Node::Prefetch on
// each batch first, as vigild does; 0 does not (the baseline, same run).
void BM_NodeBatch(benchmark::State& state) {
  const auto peers = static_cast<std::size_t>(state.range(0));
  const bool prefetch = state.range(1) != 0;
  Config config;
  config.node.id = "self";
  config.heartbeat.interval = 10s;
  for (std::size_t i = 0; i < peers; ++i) {
    PeerConfig p;
    p.id = "user-" + std::to_string(1000000 + i);
    p.address = Endpoint{"10.0.0.1", 7946, Endpoint::HostKind::kIPv4};
    config.peers.push_back(std::move(p));
  }
  Node node(config, {MonoTime{}, WallTime{}});
  std::vector<std::size_t> order(peers);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(7);
  std::vector<std::vector<std::uint8_t>> round(peers);
  std::uint64_t seq = 0;
  auto next_round = [&] {  // every peer's next heartbeat, in a new random order
    std::shuffle(order.begin(), order.end(), rng);
    ++seq;
    for (std::size_t k = 0; k < peers; ++k) {
      Message m;
      m.sender_id = config.peers[order[k]].id;
      m.incarnation = 1;
      m.sequence = seq;
      m.interval_us = 10'000'000;
      round[k].resize(kMaxMessageSize);
      round[k].resize(Encode(m, round[k]));
    }
  };
  MonoTime t{};
  constexpr std::size_t kBatch = 32;
  std::array<std::span<const std::uint8_t>, kBatch> views;
  auto take_round = [&] {
    for (std::size_t first = 0; first < peers; first += kBatch) {
      const std::size_t n = std::min(kBatch, peers - first);
      for (std::size_t k = 0; k < n; ++k) views[k] = round[first + k];
      if (prefetch) node.Prefetch(std::span(views.data(), n));
      t += Duration(10s) * n / peers;
      for (std::size_t k = 0; k < n; ++k) {
        if (node.OnDatagram(views[k], false, {t, WallTime{}})) {
          state.SkipWithError("a benchmark datagram was rejected");
        }
      }
    }
  };
  for (int warm = 0; warm < 3; ++warm) {
    next_round();
    take_round();
  }
  for (auto _ : state) {
    state.PauseTiming();
    next_round();
    state.ResumeTiming();
    take_round();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(peers));
  state.SetLabel(prefetch ? "prefetch" : "no prefetch");
}
BENCHMARK(BM_NodeBatch)->ArgsProduct({{30000, 100000, 200000}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

// Verifying one authenticated heartbeat with an 11-character id, in wire version 2 (keyed
// BLAKE2b-256) and 3 (SipHash-2-4-128).
void BM_VerifyHeartbeat(benchmark::State& state) {
  const Keyring ring = *Keyring::Parse(GenerateKeyBase64());
  Message m;
  m.version = static_cast<std::uint8_t>(state.range(0));
  m.sender_id = "user-123456";
  m.incarnation = 1;
  m.sequence = 1;
  m.interval_us = 100000;
  std::vector<std::uint8_t> d(kMaxMessageSize);
  d.resize(Sign(d, Encode(m, d), ring.primary()));
  Message decoded;
  RejectReason reason{};
  Decode(d, &decoded, &reason);
  for (auto _ : state) benchmark::DoNotOptimize(Verify(d, decoded, ring));
  state.SetLabel(m.version == kWireVersion ? "v3 SipHash-2-4-128" : "v2 BLAKE2b-256");
}
BENCHMARK(BM_VerifyHeartbeat)->Arg(kWireVersion2)->Arg(kWireVersion);

// Bytes of state per tracked peer: the PeerRecord itself, its detector object and its
// interval ring (heap), plus the deadline queue's per-peer share and the id index entry.
void BM_BytesPerPeer(benchmark::State& state) {
  DetectorOptions options;
  options.set_kind(DetectorKind::kPhi);
  options.max_sample_size = static_cast<std::size_t>(state.range(0));
  PeerConfig pc;
  pc.id = "node-123";
  pc.detector = options;
  PeerRecord record(0, pc, 1s);
  for (auto _ : state) benchmark::DoNotOptimize(record.monitor.state());
  const double detector_object = sizeof(PhiAccrualOptions) + sizeof(IntervalHistory) + 16;
  const double total = static_cast<double>(sizeof(PeerRecord)) + detector_object +
                       static_cast<double>(record.monitor.detector().HeapBytes()) +
                       16 /* heap entry */ + 12 /* wanted + position */ +
                       10 /* id index: an 8-byte slot at load <= 0.8 */;
  state.counters["bytes_per_peer"] = total;
  state.counters["history_bytes"] = static_cast<double>(record.monitor.detector().HeapBytes());
  state.counters["peer_record_bytes"] = static_cast<double>(sizeof(PeerRecord));
}
BENCHMARK(BM_BytesPerPeer)->Arg(1000)->Arg(100)->Iterations(1);

// The default (adaptive) detector keeps no history: a fixed-size object per peer.
void BM_BytesPerPeerAdaptive(benchmark::State& state) {
  PeerConfig pc;
  pc.id = "node-123";
  pc.detector = DetectorOptions{};
  PeerRecord record(0, pc, 1s);
  for (auto _ : state) benchmark::DoNotOptimize(record.monitor.state());
  const double total = static_cast<double>(sizeof(PeerRecord) + sizeof(AdaptiveDetector)) +
                       static_cast<double>(record.monitor.detector().HeapBytes()) +
                       16 /* heap entry */ + 12 /* wanted + position */ +
                       10 /* id index: an 8-byte slot at load <= 0.8 */;
  state.counters["bytes_per_peer"] = total;
  state.counters["detector_bytes"] = static_cast<double>(sizeof(AdaptiveDetector));
  state.counters["peer_record_bytes"] = static_cast<double>(sizeof(PeerRecord));
}
BENCHMARK(BM_BytesPerPeerAdaptive)->Iterations(1);

// Replaying a trace: what `vigilctl replay` and `vigilctl tune` spend per heartbeat.
void BM_Replay(benchmark::State& state) {
  TraceGeneratorOptions g;
  g.scenario = TraceScenario::kWan;
  g.length = 1h;
  const Trace t = GenerateTrace(g);
  const DetectorOptions options = Kind(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Replay(t, options, 100ms));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(t.rows.size()));
  state.SetLabel(std::string(DetectorKindName(options.kind())));
}
BENCHMARK(BM_Replay)->Arg(0)->Arg(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vigil

BENCHMARK_MAIN();
