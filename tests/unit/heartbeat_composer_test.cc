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
    const Message m = DecodeOrFail(std::span(out.data(), composer.Stamp(first, echo, out)));
    EXPECT_EQ(m.sequence, 1u);
    EXPECT_EQ(m.echo, echo);
    EXPECT_EQ(m.incarnation, 77u);
    EXPECT_EQ(m.interval_us, 250'000u);
    EXPECT_EQ(m.send_time_us, 5'000u);
    EXPECT_EQ(m.sender_id, "node-1");
    EXPECT_FALSE(m.authenticated);
  }
  const Message leave = DecodeOrFail(std::span(out.data(), composer.Stamp(second, 0, out)));
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
  const std::size_t size =
      composer.Stamp(composer.NewRound(MessageType::kHeartbeat, MonoTime{}), 3, out);
  const Message m = DecodeOrFail(std::span(out.data(), size));
  EXPECT_TRUE(m.authenticated);
  EXPECT_EQ(m.key_id, ring->primary().id);
  EXPECT_EQ(m.interval_us, 400'000u);
  EXPECT_EQ(m.incarnation, 9u);
  EXPECT_EQ(Verify(std::span(out.data(), size), m, *ring), AuthResult::kOk);
  out[20] ^= 1;  // the MAC covers the header (the sequence number here)
  EXPECT_EQ(Verify(std::span(out.data(), size), DecodeOrFail(std::span(out.data(), size)), *ring),
            AuthResult::kBadTag);
}

}  // namespace
}  // namespace vigil
