// UdpEndpoint's receive coalescing with a real UDP socket on loopback: dense traffic is held
// for the window, DrainPending hands over what waits, sparse traffic is not held. The window
// is long (seconds) so that nothing here depends on how fast the machine is; only the order
// of events is asserted.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <functional>
#include <thread>

#include "transport/udp_endpoint.h"

namespace vigil {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;
using namespace std::chrono_literals;

class UdpCoalescing : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ep = UdpEndpoint::Open(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    ASSERT_TRUE(ep.ok()) << ep.message();
    endpoint_ = std::move(ep).value();
    sender_.open(udp::v4());
    asio::co_spawn(
        io_,
        endpoint_->ReceiveLoop([this](std::span<const ReceivedDatagram> b) { handled_ += b.size(); },
                               [](const std::error_code& ec) { FAIL() << ec.message(); }),
        asio::detached);
  }
  void TearDown() override {
    endpoint_->Close();
    io_.run_for(1s);
  }
  void Send() {
    const char byte = 'x';
    sender_.send_to(asio::buffer(&byte, 1), endpoint_->local_endpoint());
  }
  // Runs the loop until `done` holds (a bounded poll: 10 s).
  bool RunUntil(const std::function<bool()>& done) {
    for (auto end = std::chrono::steady_clock::now() + 10s;
         !done() && std::chrono::steady_clock::now() < end;) {
      io_.run_for(1ms);
    }
    return done();
  }

  asio::io_context io_;
  std::unique_ptr<UdpEndpoint> endpoint_;
  udp::socket sender_{io_};
  std::size_t handled_ = 0;
};

TEST_F(UdpCoalescing, DenseTrafficIsHeldForTheWindowAndDrainPendingHandsItOver) {
  endpoint_->set_coalesce_window(5s);
  Send();
  ASSERT_TRUE(RunUntil([&] { return handled_ == 1; }));
  EXPECT_FALSE(endpoint_->holding());  // the first datagram: nothing dense yet
  Send();                              // within the window of the first: dense
  ASSERT_TRUE(RunUntil([&] { return handled_ == 2 && endpoint_->holding(); }));
  const auto wakeups = endpoint_->wakeups();
  Send();
  std::this_thread::sleep_for(50ms);  // the datagram is queued in the socket
  io_.poll();
  EXPECT_EQ(handled_, 2u) << "held datagrams wait for the window";
  EXPECT_EQ(endpoint_->wakeups(), wakeups) << "no wake-up for the held datagram";
  EXPECT_EQ(endpoint_->DrainPending(), 1u);
  EXPECT_EQ(handled_, 3u);
  EXPECT_EQ(endpoint_->DrainPending(), 0u);
  // The socket is out of the reactor during the hold, and still sends.
  const char reply = 'y';
  std::error_code ec;
  ASSERT_TRUE(endpoint_->SendTo(std::span(reinterpret_cast<const std::uint8_t*>(&reply), 1),
                                sender_.local_endpoint(), &ec))
      << ec.message();
  char got = 0;
  EXPECT_EQ(sender_.receive(asio::buffer(&got, 1)), 1u);
  EXPECT_EQ(got, 'y');
  EXPECT_TRUE(endpoint_->holding());
}

TEST_F(UdpCoalescing, WithoutAWindowEveryDatagramIsHandledAsItArrives) {
  endpoint_->set_coalesce_window(0s);
  for (std::size_t i = 1; i <= 3; ++i) {
    Send();
    ASSERT_TRUE(RunUntil([&] { return handled_ == i; }));
    EXPECT_FALSE(endpoint_->holding());
  }
  EXPECT_EQ(endpoint_->wakeups(), 3u);
}

TEST_F(UdpCoalescing, AWindowThatBringsNothingEndsTheHold) {
  endpoint_->set_coalesce_window(200ms);
  Send();
  ASSERT_TRUE(RunUntil([&] { return handled_ == 1; }));
  Send();
  ASSERT_TRUE(RunUntil([&] { return handled_ == 2 && endpoint_->holding(); }));
  // Nothing more is sent: the window ends, its drain finds nothing, the loop waits again and
  // a datagram sent later is handled without being held.
  ASSERT_TRUE(RunUntil([&] { return !endpoint_->holding(); }));
  std::this_thread::sleep_for(300ms);
  Send();
  ASSERT_TRUE(RunUntil([&] { return handled_ == 3; }));
  EXPECT_FALSE(endpoint_->holding());
}

TEST_F(UdpCoalescing, ASendWaitingForRoomIsNotHeldUpByAHoldThatLasts) {
  endpoint_->set_coalesce_window(200ms);
  Send();
  ASSERT_TRUE(RunUntil([&] { return handled_ == 1; }));
  Send();
  ASSERT_TRUE(RunUntil([&] { return endpoint_->holding(); }));
  bool writable = false;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        co_await endpoint_->WaitWritable();
        writable = true;
      },
      asio::detached);
  // Traffic stays dense, so the hold goes on; the wait for room ends all the same.
  for (auto end = std::chrono::steady_clock::now() + 10s;
       !writable && std::chrono::steady_clock::now() < end;) {
    Send();
    io_.run_for(20ms);
  }
  EXPECT_TRUE(writable);
  EXPECT_TRUE(endpoint_->holding());
}

// What overflows the receive buffer is counted (vigil_receive_buffer_drops_total): on
// loopback every datagram sent is either received or dropped by the receiving socket.
TEST_F(UdpCoalescing, EveryDatagramIsReceivedOrCountedAsDroppedByTheKernel) {
  constexpr std::size_t kSent = 50'000;  // far more than any receive buffer holds
  for (std::size_t i = 0; i < kSent; ++i) Send();  // the loop is not running: nothing read
  std::size_t last = 0;
  ASSERT_TRUE(RunUntil([&] {
    const bool settled = handled_ > 0 && handled_ == last;
    last = handled_;
    return settled && handled_ + endpoint_->kernel_drops() == kSent;
  })) << handled_ << " received, " << endpoint_->kernel_drops() << " counted as dropped";
  EXPECT_GT(endpoint_->kernel_drops(), 0u);
}

}  // namespace
}  // namespace vigil
