// What vigild puts on the wire (daemon/heartbeat_composer.h): one sequence number per round,
// each receiver's own echo, and a MAC over it when a keyring is set.
#include "daemon/heartbeat_composer.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

using std::chrono::milliseconds;

Message DecodeOrFail(std::span<const std::uint8_t> bytes) {
  Message m;
  RejectReason why{};
  EXPECT_EQ(Decode(bytes, &m, &why), DecodeStatus::kOk) << RejectReasonName(why);
  return m;
}

TEST(HeartbeatComposer, OneSequenceNumberPerRoundAndEachReceiversOwnEcho) {
  HeartbeatComposer composer("node-1", milliseconds(250), 77);
  std::array<std::uint8_t, kMaxMessageSize> out{};
  const RoundMessage first = composer.NewRound(MessageType::kHeartbeat, MonoTime{} + milliseconds(5));
  const RoundMessage second = composer.NewRound(MessageType::kLeave, MonoTime{} + milliseconds(9));
  for (std::uint64_t echo : {0ull, 41ull, 42ull}) {
    const Message m = DecodeOrFail(std::span(out.data(), composer.Stamp(first, echo, kWireVersion, out)));
    EXPECT_EQ(m.sequence, 1u);
    EXPECT_EQ(m.echo, echo);
    EXPECT_EQ(m.incarnation, 77u);
    EXPECT_EQ(m.interval_us, 250'000u);
    EXPECT_EQ(m.send_time_us, 5'000u);
    EXPECT_EQ(m.sender_id, "node-1");
    EXPECT_FALSE(m.authenticated);
  }
  const Message leave = DecodeOrFail(std::span(out.data(), composer.Stamp(second, 0, kWireVersion, out)));
  EXPECT_EQ(leave.type, MessageType::kLeave);
  EXPECT_EQ(leave.sequence, 2u);
}

TEST(HeartbeatComposer, SignsWithThePrimaryKeyAndFollowsAReload) {
  const auto ring = Keyring::Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  ASSERT_TRUE(ring) << ring.message();
  HeartbeatComposer composer("n", milliseconds(100), 1);
  composer.set_keyring(*ring);
  composer.set_interval(milliseconds(400));
  composer.set_incarnation(9);
  std::array<std::uint8_t, kMaxMessageSize> out{};
  const std::size_t size = composer.Stamp(composer.NewRound(MessageType::kHeartbeat, MonoTime{}),
                                         3, kWireVersion, out);
  const Message m = DecodeOrFail(std::span(out.data(), size));
  EXPECT_EQ(m.version, kWireVersion);
  EXPECT_EQ(size, kHeaderSize + 1 + AuthTrailerSize(kWireVersion));
  EXPECT_TRUE(m.authenticated);
  EXPECT_EQ(m.key_id, ring->primary().id);
  EXPECT_EQ(m.interval_us, 400'000u);
  EXPECT_EQ(m.incarnation, 9u);
  EXPECT_EQ(Verify(std::span(out.data(), size), m, *ring), AuthResult::kOk);
  out[20] ^= 1;  // the MAC covers the header (the sequence number here)
  EXPECT_EQ(Verify(std::span(out.data(), size), DecodeOrFail(std::span(out.data(), size)), *ring),
            AuthResult::kBadTag);
}

TEST(HeartbeatComposer, SpeaksVersion2ToAnOlderPeerWithItsLongerTag) {
  const auto ring = Keyring::Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  ASSERT_TRUE(ring) << ring.message();
  HeartbeatComposer composer("n", milliseconds(100), 1);
  composer.set_keyring(*ring);
  const RoundMessage round = composer.NewRound(MessageType::kHeartbeat, MonoTime{});
  std::array<std::uint8_t, kMaxMessageSize> old_peer{};
  std::array<std::uint8_t, kMaxMessageSize> new_peer{};
  const std::size_t v2 = composer.Stamp(round, 5, kWireVersion2, old_peer);
  const std::size_t v3 = composer.Stamp(round, 5, kWireVersion, new_peer);
  const Message m2 = DecodeOrFail(std::span(old_peer.data(), v2));
  const Message m3 = DecodeOrFail(std::span(new_peer.data(), v3));
  EXPECT_EQ(m2.version, kWireVersion2);
  EXPECT_EQ(m2.tag.size(), 32u);
  EXPECT_EQ(m3.tag.size(), 16u);
  EXPECT_EQ(v2 - v3, 16u);
  EXPECT_EQ(m2.sequence, m3.sequence);  // one round, two dialects
  EXPECT_EQ(m2.echo, 5u);
  EXPECT_EQ(Verify(std::span(old_peer.data(), v2), m2, *ring), AuthResult::kOk);
  EXPECT_EQ(Verify(std::span(new_peer.data(), v3), m3, *ring), AuthResult::kOk);
  // A version 3 tag does not pass as version 2 or the other way round.
  old_peer[2] = kWireVersion;
  Message relabelled;
  RejectReason why{};
  EXPECT_EQ(Decode(std::span(old_peer.data(), v2), &relabelled, &why), DecodeStatus::kRejected);
  EXPECT_EQ(why, RejectReason::kLengthMismatch);
}

}  // namespace
}  // namespace vigil
