// libFuzzer target: any bytes as what one member and one joiner receive, datagram by
// datagram, from members and strangers, with time going by (docs/membership.md, "Joining",
// "Anti-entropy"). Nothing may crash either node, and after a Tick nothing may be due at
// once again (a wake-up loop would spin the event loop).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "membership/gossip_wire.h"
#include "membership/membership_node.h"

namespace {

using vigil::MonoTime;
using namespace vigil::membership;

std::shared_ptr<const ObserverGraph> Graph() {
  static const auto graph = [] {
    std::vector<std::string> ids;
    for (int i = 0; i < 40; ++i) ids.push_back("m" + std::to_string(i));
    return std::make_shared<const ObserverGraph>(ObserverGraph::Build(ids, 8));
  }();
  return graph;
}

// Ticks `node` at `now` and checks that nothing is due at once again.
void TickAndCheck(MembershipNode& node, MonoTime now) {
  Outbox out;
  node.Tick(now, out);
  if (node.NextWakeup() <= now) std::abort();
}

}  // namespace

// Input: records of [sender (1 byte), milliseconds to wait (1 byte), length (1 byte), that
// many bytes]: the bytes are decoded as a membership datagram, unauthenticated, and handed to
// both nodes (ReceiveGossip, with its stamp) as from member m(sender % 48) (m40 .. m47 are
// strangers); an odd wait byte also delivers a heartbeat from that sender at an incarnation
// taken from the bytes.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  GraphSource source;
  MonoTime now = MonoTime{} + std::chrono::hours(1);
  MembershipOptions member_options;
  member_options.self = "m0";
  MembershipNode member(member_options, Graph(), source, now);
  MembershipOptions joiner_options;
  joiner_options.self = "j";
  joiner_options.seeds = {"m0", "m1"};
  joiner_options.incarnation = 7;
  MembershipNode joiner(joiner_options, source, now);
  std::size_t pos = 0;
  while (pos + 3 <= size) {
    const std::string sender = "m" + std::to_string(data[pos] % 48);
    now += std::chrono::milliseconds(data[pos + 1] * 20);
    const std::size_t length = std::min<std::size_t>(data[pos + 2], size - pos - 3);
    const std::span<const std::uint8_t> bytes(data + pos + 3, length);
    MembershipDatagram d;
    GossipReject why{};
    for (MembershipNode* node : {&member, &joiner}) {
      Outbox out;
      if (DecodeGossip(bytes, nullptr, false, &d, &why)) {
        // Stamped as it came half the time (most are refused, and answered), else with an
        // echo of this node, so that the records reach the member (docs/membership.md,
        // "Replays").
        Stamp stamp{d.header.incarnation, d.header.sequence, d.header.echo};
        if (d.header.echo % 2 == 1) stamp.echo = node->incarnation();
        node->ReceiveGossip(d.gossip, sender, stamp, now, out);
      }
      if (data[pos + 1] % 2 == 1 && length > 0) {
        const std::uint64_t echo = bytes[0] % 4 == 0 ? bytes.size() : node->incarnation();
        node->ReceiveHeartbeat(sender, Stamp{bytes[0] + 1u, bytes.size(), echo}, now, out);
      }
      TickAndCheck(*node, now);
    }
    pos += 3 + length;
  }
  return 0;
}
