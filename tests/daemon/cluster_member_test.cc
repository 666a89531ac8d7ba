// ClusterMember, the shell of vigild's cluster member, driven without sockets: contacts on
// the wire as docs/membership.md ("Contacts") says, and three members in simulated time that
// join through one seed, heartbeat one another, take a silent one out, and refuse a fourth
// that signs with another key.
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
#include "tests/daemon/cluster_member_fixture.h"
#include "transport/keyring.h"

namespace vigil {
namespace {

TEST(ClusterContact, IsTheDocumentedEighteenBytes) {
  const udp::endpoint v4(make_address("192.0.2.1"), 7946);
  const std::string c = EncodeContact(v4);
  EXPECT_EQ(c, std::string("\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\0\x02\x01\x1f\x0a", 18));
  EXPECT_EQ(DecodeContact(c), v4);
  EXPECT_TRUE(DecodeContact(c)->address().is_v4());
  const udp::endpoint v6(make_address("fd00::17"), 8000);
  EXPECT_EQ(DecodeContact(EncodeContact(v6)), v6);
  EXPECT_FALSE(DecodeContact(c.substr(0, 17)));
  EXPECT_FALSE(DecodeContact(""));
}

TEST_F(ClusterMemberTest, JoinThroughTheSeedWatchAndTakeASilentMemberOut) {
  ASSERT_TRUE(InitCrypto());
  const std::string key = GenerateKeyBase64();
  for (int n = 1; n <= 3; ++n) Add(n, key);
  Run(seconds(10));
  for (int n = 1; n <= 3; ++n) {
    EXPECT_EQ(M(n).member().view().size(), 3u) << "m" << n;
    EXPECT_GT(M(n).counters().heartbeats_received, 0u) << "m" << n;
    EXPECT_EQ(M(n).counters().no_contact, 0u) << "m" << n;
  }
  EXPECT_EQ(M(2).Where("m3"), udp::endpoint(make_address("10.0.0.3"), 7946));
  ASSERT_TRUE(M(2).Since("m3"));
  // A heartbeat delivered again (a replay, a duplicate) is refused, not taken for life.
  const udp::endpoint one(make_address("10.0.0.1"), 7946);
  ASSERT_TRUE(last_heartbeat_.contains(one));
  using membership::Freshness;
  using membership::Stream;
  const std::uint64_t refused = M(1).member().refused(Stream::kHeartbeat, Freshness::kOldSequence);
  Deliver(M(1), last_heartbeat_.at(one));
  EXPECT_EQ(M(1).member().refused(Stream::kHeartbeat, Freshness::kOldSequence), refused + 1);
  Run(seconds(15), "m3");
  for (int n = 1; n <= 2; ++n) {
    EXPECT_EQ(M(n).member().view().size(), 2u) << "m" << n;
    EXPECT_TRUE(M(n).member().taken_out("m3")) << "m" << n;
  }
}

TEST_F(ClusterMemberTest, AMemberWithAnotherKeyIsRefusedAndCounted) {
  ASSERT_TRUE(InitCrypto());
  const std::string key = GenerateKeyBase64();
  Add(1, key);
  Add(2, key);
  Add(3, GenerateKeyBase64());
  Run(seconds(10));
  EXPECT_EQ(M(1).member().view().size(), 2u);
  EXPECT_EQ(M(3).member().view().size(), 1u);
  const auto& rejected = M(1).counters().gossip_rejected;
  EXPECT_GT(rejected[static_cast<std::size_t>(membership::GossipReject::kUnknownKey)] +
                rejected[static_cast<std::size_t>(membership::GossipReject::kBadMac)],
            0u);
}

// docs/membership.md, "vigild as a member": a seed given as a host name is not asked until
// the daemon says where it is; one that is this node is never asked.
TEST_F(ClusterMemberTest, ANamedSeedIsAskedOnceItHasAnAddress) {
  const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  Add(1, key);
  Add(2, key, {Endpoint{"m2.example", 7946, Endpoint::HostKind::kName},
               Endpoint{"seed.example", 7946, Endpoint::HostKind::kName}});
  Run(seconds(4));  // m1 starts the cluster alone
  ClusterMember& m2 = *members_.at(udp::endpoint(make_address("10.0.0.2"), 7946));
  const auto named = m2.NamedSeeds();
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[1].second.host, "seed.example");
  EXPECT_EQ(m2.unresolved_seeds(), 2u);
  EXPECT_GT(m2.counters().no_contact, 0u);  // its Joins had nowhere to go
  EXPECT_EQ(m2.member().view().size(), 1u);
  EXPECT_EQ(m2.SetSeedAddress(named[0].first, udp::endpoint(make_address("10.0.0.2"), 7946)),
            ClusterMember::SeedChange::kSelf);
  const udp::endpoint seed(make_address("10.0.0.1"), 7946);
  EXPECT_EQ(m2.SetSeedAddress(named[1].first, seed), ClusterMember::SeedChange::kMoved);
  EXPECT_EQ(m2.SetSeedAddress(named[1].first, seed), ClusterMember::SeedChange::kNone);
  EXPECT_EQ(m2.unresolved_seeds(), 0u);
  Run(seconds(10));
  EXPECT_EQ(m2.member().view().size(), 2u);
  EXPECT_EQ(members_.at(seed)->member().view().size(), 2u);
}

// A dual-stack socket ([::]) sees IPv4 addresses as ::ffff:a.b.c.d: a named seed that is
// this node's own address is found all the same.
TEST(ClusterMemberSeeds, ANamedSeedThatIsThisNodeIsFoundOnADualStackSocket) {
  Config c;
  c.node.id = "m2";
  c.node.bind = Endpoint{"::", 7946, Endpoint::HostKind::kIPv6};
  c.node.advertise = Endpoint{"10.0.0.2", 7946, Endpoint::HostKind::kIPv4};
  c.cluster.seeds = {Endpoint{"m2.example", 7946, Endpoint::HostKind::kName}};
  ClusterMember m(c, *Keyring::Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"), 1,
                  MonoTime{}, [](std::span<const std::uint8_t>, const udp::endpoint&) {
                    return true;
                  });
  const std::string id = m.NamedSeeds().at(0).first;
  EXPECT_EQ(m.SetSeedAddress(id, udp::endpoint(make_address("::ffff:10.0.0.2"), 7946)),
            ClusterMember::SeedChange::kSelf);
  EXPECT_FALSE(m.SeedAddress(id));
  EXPECT_EQ(m.unresolved_seeds(), 0u);
  EXPECT_EQ(m.SetSeedAddress(id, udp::endpoint(make_address("::ffff:10.0.0.9"), 7946)),
            ClusterMember::SeedChange::kMoved);
  EXPECT_EQ(Unmapped(*m.SeedAddress(id)), udp::endpoint(make_address("10.0.0.9"), 7946));
}

// docs/membership.md, "Leaving": a member that leaves is taken out as left by the others.
TEST_F(ClusterMemberTest, AMemberThatLeavesIsTakenOutAsLeft) {
  const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  for (int n = 1; n <= 3; ++n) Add(n, key);
  Run(seconds(10));
  ClusterMember& m3 = *members_.at(udp::endpoint(make_address("10.0.0.3"), 7946));
  ASSERT_EQ(m3.member().view().size(), 3u);
  EXPECT_EQ(m3.Leave(now_), 2u);
  Run(seconds(2), "m3");
  for (int n = 1; n <= 2; ++n) {
    const ClusterMember& m =
        *members_.at(udp::endpoint(make_address("10.0.0." + std::to_string(n)), 7946));
    EXPECT_EQ(m.member().view().size(), 2u) << n;
    EXPECT_TRUE(m.member().left("m3")) << n;
  }
}

// docs/membership.md, "Replays": a datagram recorded on the way is refused when sent again
// to its receiver, to another member, or to its receiver after a restart; a restarted seed
// that started alone is found again through its answers to the datagrams it refuses.
TEST_F(ClusterMemberTest, RecordedDatagramsAreRefusedWhereverAndWheneverTheyAreSentAgain) {
  const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  for (int n = 1; n <= 3; ++n) Add(n, key);
  Run(seconds(10));
  const udp::endpoint one(make_address("10.0.0.1"), 7946);
  ASSERT_TRUE(last_gossip_.contains(one) && last_heartbeat_.contains(one));
  const Datagram gossip = last_gossip_.at(one);
  EXPECT_EQ(Deliver(M(1), gossip), "old_sequence");
  // A heartbeat to m1, sent to the other member instead: it echoes m1's incarnation.
  Datagram heartbeat = last_heartbeat_.at(one);
  const int other = heartbeat.from == udp::endpoint(make_address("10.0.0.2"), 7946) ? 3 : 2;
  heartbeat.to = udp::endpoint(make_address("10.0.0." + std::to_string(other)), 7946);
  EXPECT_EQ(Deliver(M(other), heartbeat), "heartbeat_unconfirmed");
  // m1, the seed, restarts (a newer incarnation): what was sent to its last run is
  // refused; its seed is itself, so it starts alone, and the others find it again.
  members_.erase(one);
  Add(1, key, {Endpoint{"10.0.0.1", 7946, Endpoint::HostKind::kIPv4}}, 5000);
  auto& restarted = M(1);
  EXPECT_EQ(Deliver(restarted, gossip), "unconfirmed");
  Run(seconds(15));
  for (int n = 1; n <= 3; ++n) {
    EXPECT_EQ(M(n).member().view().size(), 3u) << "m" << n;
  }
  EXPECT_EQ(M(2).member().IncarnationOf("m1"), restarted.member().incarnation());
  EXPECT_GT(restarted.member().unconfirmed_answered(), 0u);
  EXPECT_EQ(M(2).member().refused(membership::Stream::kGossip,
                                  membership::Freshness::kOldSequence),
            0u);
}

// docs/membership.md, "Replays": a Join to a seed known by its address is answered, and the
// joiner asks again by the seed's id; with the first answer lost, the next retry does it,
// well within join_patience (3 s): the joiner does not start a cluster of its own.
TEST_F(ClusterMemberTest, AJoinWhoseAnswerIsLostIsWelcomedAtTheNextRetry) {
  const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  Add(1, key);
  Run(seconds(4));  // m1 starts the cluster alone
  Add(2, key);
  const udp::endpoint two(make_address("10.0.0.2"), 7946);
  int dropped = 0;
  drop_ = [&](const Datagram& g) { return g.to == two && g.bytes[3] == 3 && dropped++ == 0; };
  Run(milliseconds(2500));
  EXPECT_GT(dropped, 0);
  EXPECT_TRUE(M(2).member().welcomed());
  EXPECT_GE(M(1).member().joins_answered(), 1u);
  EXPECT_GE(M(1).member().unconfirmed_answered(), 2u);  // the lost answer, and the next
  Run(seconds(3));
  EXPECT_EQ(M(1).member().view().size(), 2u);
  EXPECT_EQ(M(2).member().view().size(), 2u);
}


// docs/api.md, "event: member": a member that leaves is suspect -> left by agreement, and a
// new run of it is admitted from left.
TEST_F(ClusterMemberTest, AMemberThatLeavesIsAnEventToLeftAndItsReturnOneFromLeft) {
  const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  for (int n = 1; n <= 3; ++n) Add(n, key);
  Run(seconds(10));
  std::vector<EventRecord> events;
  M(1).set_event_listener([&](EventRecord e) { events.push_back(std::move(e)); });
  EXPECT_EQ(M(3).Leave(now_), 2u);
  Run(seconds(2), "m3");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].member);
  EXPECT_EQ(events[0].peer, "m3");
  EXPECT_EQ(events[0].from, PeerState::kSuspect);
  EXPECT_EQ(events[0].to, PeerState::kLeft);
  EXPECT_EQ(events[0].member_reason, MemberReason::kAgreement);
  EXPECT_EQ(events[0].incarnation, 1003u);
  EXPECT_NE(events[0].reports, EventRecord::kNoCount);
  members_.erase(udp::endpoint(make_address("10.0.0.3"), 7946));
  Add(3, key, {Endpoint{"10.0.0.1", 7946, Endpoint::HostKind::kIPv4}}, 5000);
  Run(seconds(10));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].peer, "m3");
  EXPECT_EQ(events[1].from, PeerState::kLeft);
  EXPECT_EQ(events[1].to, PeerState::kUp);
  EXPECT_EQ(events[1].member_reason, MemberReason::kAdmitted);
  EXPECT_EQ(events[1].incarnation, 5000u);
  EXPECT_EQ(events[1].reports, EventRecord::kNoCount);  // null: no agreement behind it
}

// A member that missed the agreement (every report to it lost) learns of the removal from
// another member's list, disputes it, and takes the silent member out itself: up -> down,
// reason dispute, with no counts.
TEST_F(ClusterMemberTest, AMemberThatMissedTheAgreementTakesItOutAfterADispute) {
  const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  for (int n = 1; n <= 3; ++n) Add(n, key);
  Run(seconds(10));
  std::vector<EventRecord> events;
  M(1).set_event_listener([&](EventRecord e) { events.push_back(std::move(e)); });
  const udp::endpoint one(make_address("10.0.0.1"), 7946);
  // Gossip to m1 is lost for longer than a report lives (report_lifetime, 10 s).
  drop_ = [&](const Datagram& g) { return g.to == one && g.bytes[3] == 3; };
  Run(seconds(12), "m3");
  EXPECT_TRUE(M(2).member().taken_out("m3"));
  EXPECT_FALSE(M(1).member().taken_out("m3"));
  EXPECT_TRUE(events.empty());
  drop_ = nullptr;
  Run(seconds(15), "m3");
  EXPECT_TRUE(M(1).member().taken_out("m3"));
  EXPECT_GE(M(1).member().disputes_lost(), 1u);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].peer, "m3");
  EXPECT_EQ(events[0].from, PeerState::kUp);
  EXPECT_EQ(events[0].to, PeerState::kDown);
  EXPECT_EQ(events[0].member_reason, MemberReason::kDispute);
  EXPECT_EQ(events[0].reports, EventRecord::kNoCount);
  EXPECT_EQ(events[0].observers, EventRecord::kNoCount);
}

}  // namespace
}  // namespace vigil
