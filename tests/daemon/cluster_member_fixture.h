// ClusterMembers of vigild driven without sockets, on simulated time: members at 10.0.0.1..
// on a lossless network with no delay (tests/daemon/).
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "daemon/cluster_member.h"
#include "transport/keyring.h"
#include "transport/wire_format.h"

namespace vigil {

using boost::asio::ip::make_address;
using boost::asio::ip::udp;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct Datagram {
  udp::endpoint from, to;
  std::vector<std::uint8_t> bytes;
};

// Each "host" is an address.
class ClusterMemberTest : public ::testing::Test {
 protected:
  void Add(int n, const std::string& key,
           std::vector<Endpoint> seeds = {Endpoint{"10.0.0.1", 7946,
                                                   Endpoint::HostKind::kIPv4}},
           std::uint64_t incarnation = 0) {
    Config c;
    c.node.id = "m" + std::to_string(n);
    c.node.bind = Endpoint{"10.0.0." + std::to_string(n), 7946, Endpoint::HostKind::kIPv4};
    c.heartbeat.interval = milliseconds(100);
    c.cluster.seeds = std::move(seeds);
    const udp::endpoint self(make_address(c.node.bind.host), 7946);
    auto send = [this, self](std::span<const std::uint8_t> b, const udp::endpoint& to) {
      wire_.push_back({self, to, {b.begin(), b.end()}});
      return true;
    };
    members_[self] = std::make_unique<ClusterMember>(
        c, *Keyring::Parse(key + "\n"),
        incarnation > 0 ? incarnation : 1000 + static_cast<std::uint64_t>(n), now_, send);
  }
  // Runs the cluster for `d`, in steps of 10 ms; `dead` neither runs nor hears anything.
  void Run(Duration d, const std::string& dead = "") {
    const MonoTime until = now_ + d;
    while (now_ < until) {
      now_ += milliseconds(10);
      for (auto& [at, m] : members_) {
        if (m->member().self() != dead && m->NextWakeup() <= now_) m->Tick(now_);
      }
      while (!wire_.empty()) {
        Datagram g = std::move(wire_.front());
        wire_.pop_front();
        if (drop_ && drop_(g)) continue;
        auto it = members_.find(g.to);
        if (it == members_.end() || it->second->member().self() == dead) continue;
        if (g.bytes[3] != 3) last_heartbeat_[g.to] = g;
        Deliver(*it->second, g);
      }
    }
  }
  // Returns why `m` did not take `g` (nullopt: taken).
  std::optional<std::string_view> Deliver(ClusterMember& m, const Datagram& g) {
    if (g.bytes[3] == 3) {
      last_gossip_[g.to] = g;
      return m.OnGossip(g.bytes, g.from, now_);
    }
    Message msg;
    RejectReason why{};
    EXPECT_EQ(Decode(g.bytes, &msg, &why), DecodeStatus::kOk);
    return m.OnHeartbeat(msg, g.bytes, g.from, now_);
  }
  ClusterMember& M(int n) {
    return *members_.at(udp::endpoint(make_address("10.0.0." + std::to_string(n)), 7946));
  }

  MonoTime now_ = MonoTime{} + seconds(100);
  std::map<udp::endpoint, std::unique_ptr<ClusterMember>> members_;
  std::deque<Datagram> wire_;
  std::map<udp::endpoint, Datagram> last_heartbeat_;  // by receiver
  std::map<udp::endpoint, Datagram> last_gossip_;     // by receiver
  std::function<bool(const Datagram&)> drop_;         // lost on the way if it says so
};

}  // namespace vigil
