// A subscriber that stops reading must be dropped (bounded memory, a log line, a counter)
// while the daemon keeps serving everyone else.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "tests/integration/cluster.h"
#include "transport/wire_format.h"

namespace vigil::testing {
namespace {

TEST(SlowSubscriber, IsDroppedAndTheDaemonKeepsServing) {
  TempDir dir;
  const int port = FreeUdpPort();
  // One peer, "flapper", with a 5 ms timeout: each heartbeat we send makes it up and then
  // down again, two events per heartbeat.
  std::ofstream(dir.File("n1.yaml")) << "node:\n  id: n1\n  bind: \"127.0.0.1:" << port
                                     << "\"\npeers:\n  - id: flapper\n    address: 127.0.0.1:9\n"
                                        "    detector:\n      kind: timeout\n      timeout: 5ms\n"
                                        "api:\n  socket: "
                                     << dir.File("n1.sock") << "\n  sse_buffer: 4096\nstate:\n"
                                     << "  directory: " << dir.path() << "\n";
  Daemon d("n1", dir.File("n1.yaml"), dir.File("n1.sock"), dir.File("n1.log"));
  ASSERT_TRUE(d.Start()) << d.Log();

  // The slow subscriber: subscribes, shrinks its receive buffer, never reads again.
  const int slow = ::socket(AF_UNIX, SOCK_STREAM, 0);
  const int small = 4096;
  ::setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, d.socket().c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::connect(slow, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string req = "GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ASSERT_EQ(::write(slow, req.data(), req.size()), static_cast<ssize_t>(req.size()));

  // A well-behaved subscriber alongside it.
  EventCollector good(d.socket());
  ASSERT_TRUE(good.WaitOpen());

  const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  std::atomic<bool> stop{false};
  std::thread flapper([&] {
    std::uint64_t seq = 0;
    while (!stop) {
      Message m;
      m.sender_id = "flapper";
      m.incarnation = 1;
      m.sequence = ++seq;
      m.interval_us = 15000;
      std::vector<std::uint8_t> b(kMaxMessageSize);
      b.resize(Encode(m, b));
      ::sendto(udp, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
    }
  });
  const bool dropped = WaitUntil(
      [&] { return d.Log().find("event subscriber dropped") != std::string::npos; },
      std::chrono::seconds(60));
  stop = true;
  flapper.join();
  ::close(udp);
  EXPECT_TRUE(dropped) << d.Log();

  // The daemon still answers, counted the drop, and the good subscriber kept receiving.
  const auto metrics = d.Client().Get("/metrics");
  ASSERT_TRUE(metrics) << metrics.message();
  EXPECT_NE(metrics->body.find("\nvigil_event_subscribers_dropped_total 1"), std::string::npos)
      << metrics->body.substr(0, 200);
  EXPECT_GT(good.Events().size(), 20u);
  // The dropped connection was really closed: reading drains what was buffered, then EOF.
  char buf[65536];
  ssize_t n = 0;
  timeval tv{5, 0};
  ::setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while ((n = ::read(slow, buf, sizeof buf)) > 0) {
  }
  EXPECT_EQ(n, 0) << "expected EOF on the dropped subscriber";
  ::close(slow);
}

}  // namespace
}  // namespace vigil::testing
