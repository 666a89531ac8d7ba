// After warm-up a heartbeat on a known peer allocates nothing. This binary replaces global
// operator new to count allocations, so it is kept apart from the other tests.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "detector/deadline_queue.h"
#include "detector/detector_options.h"
#include "detector/peer_monitor.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// The replacement pair below is matched (new -> malloc, delete -> free); GCC cannot see that.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace vigil {
namespace {

using namespace std::chrono_literals;

struct NullSink : TransitionSink {
  void OnTransition(const Transition&) override {}
};

class HeartbeatAllocation : public ::testing::TestWithParam<DetectorKind> {};

TEST_P(HeartbeatAllocation, SteadyStateHeartbeatAllocatesNothing) {
  DetectorOptions options;
  options.kind = GetParam();
  options.suspect_threshold = GetParam() == DetectorKind::kTimeout ? std::nullopt
                                                                   : std::optional(4.0);
  PeerMonitor monitor(0, MakeDetector(options, 100ms), {SuspectLevel(options), 1});
  DeadlineQueue queue;
  queue.Resize(1);
  EventIdSource ids;
  NullSink sink;
  MonoTime t{};
  // Warm-up: fill the history ring and the heap's one slot.
  for (int i = 0; i < 2000; ++i) {
    t += 100ms;
    monitor.OnHeartbeat(t, 1, ids, sink);
    queue.Set(0, *monitor.NextDeadline());
  }
  std::vector<PeerIndex> due;
  due.reserve(1);
  const long before = g_allocations.load();
  for (int i = 0; i < 10000; ++i) {
    t += 100ms;
    monitor.OnHeartbeat(t, 1, ids, sink);
    queue.Set(0, *monitor.NextDeadline());
    queue.PopDue(t, due);
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(monitor.state(), PeerState::kUp);
}

INSTANTIATE_TEST_SUITE_P(AllKinds, HeartbeatAllocation,
                         ::testing::Values(DetectorKind::kPhi, DetectorKind::kPhiExponential,
                                           DetectorKind::kTimeout),
                         [](const auto& param_info) {
                           std::string n(DetectorKindName(param_info.param));
                           for (auto& c : n) if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace vigil
