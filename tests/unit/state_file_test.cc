// The state file: round trip, atomic replacement, the legacy JSON file, and every kind of
// bad file.
#include <gtest/gtest.h>

#include <sodium.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "daemon/state_codec.h"
#include "daemon/state_file.h"

namespace vigil {
namespace {

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-state-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // Writes a legacy (vigil 0.2) JSON state file.
  void Write(const std::string& text) { WriteFile("state.json", text); }
  void WriteFile(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ + "/" + name, std::ios::binary | std::ios::trunc) << bytes;
  }
  std::string dir_;
};

PersistedState Sample() {
  PersistedState s;
  s.node_id = "n1";
  s.incarnation = 77;
  s.written_ms = 1'800'000'000'000;
  s.last_event_id = 9;
  s.peers.push_back({"n2", "up", 1'799'999'999'000, 1'799'999'999'500, 5, 41, 100'000});
  s.peers.push_back({"n3", "unknown", 1'799'999'990'000, std::nullopt, 0});
  s.peers.push_back({"user-1", "down", 1'799'999'000'000, 1'799'998'000'000, 6, 7, 0, true});
  return s;
}

// A version 2 JSON file as vigil 0.2 wrote it.
constexpr const char* kLegacyFile =
    "{\"format\":\"vigil-state\",\"version\":2,\"node\":\"n1\",\"incarnation\":77,"
    "\"written\":1800000000000,\"clean_stop\":true,\"last_event_id\":9,\"peers\":["
    "{\"id\":\"n2\",\"state\":\"up\",\"since\":1799999999000,"
    "\"last_heartbeat\":1799999999500,\"incarnation\":5,\"sequence\":41,"
    "\"interval_us\":100000}]}\n";

TEST_F(StateFileTest, RoundTrips) {
  ASSERT_TRUE(WriteStateFile(dir_, Sample()).ok());
  const auto read = ReadStateFile(dir_, "n1");
  ASSERT_TRUE(read) << read.message();
  const PersistedState& back = *read;
  EXPECT_EQ(back.incarnation, 77u);
  EXPECT_EQ(back.written_ms, 1'800'000'000'000);
  EXPECT_EQ(back.last_event_id, 9u);
  EXPECT_FALSE(back.clean_stop);
  ASSERT_EQ(back.peers.size(), 3u);
  EXPECT_EQ(back.peers[0].id, "n2");
  EXPECT_EQ(back.peers[0].state, "up");
  EXPECT_EQ(back.peers[0].since_ms, 1'799'999'999'000);
  EXPECT_EQ(*back.peers[0].last_heartbeat_ms, 1'799'999'999'500);
  EXPECT_EQ(back.peers[0].incarnation, 5u);
  EXPECT_EQ(back.peers[0].sequence, 41u);
  EXPECT_EQ(back.peers[0].interval_us, 100'000u);
  EXPECT_FALSE(back.peers[0].enrolled);
  EXPECT_FALSE(back.peers[1].last_heartbeat_ms);
  EXPECT_EQ(back.peers[1].state, "unknown");
  EXPECT_TRUE(back.peers[2].enrolled);
  EXPECT_EQ(back.peers[2].state, "down");
  // Private to the daemon's user; no temporary left behind; about 40 bytes and the id per
  // peer.
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/state.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_LT(st.st_size, 64 + 3 * (48 + 6));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/state.bin.tmp"));
}

TEST_F(StateFileTest, ACleanStopRoundTrips) {
  PersistedState s = Sample();
  s.clean_stop = true;
  ASSERT_TRUE(WriteStateFile(dir_, s).ok());
  EXPECT_TRUE(ReadStateFile(dir_, "n1")->clean_stop);
}

TEST_F(StateFileTest, TheLegacyJsonFileIsReadUntilTheFirstWrite) {
  Write(kLegacyFile);
  const auto read = ReadStateFile(dir_, "n1");
  ASSERT_TRUE(read) << read.message();
  EXPECT_TRUE(read->clean_stop);
  ASSERT_EQ(read->peers.size(), 1u);
  EXPECT_EQ(read->peers[0].sequence, 41u);
  ASSERT_TRUE(WriteStateFile(dir_, Sample()).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/state.json"));
  EXPECT_EQ(ReadStateFile(dir_, "n1")->peers.size(), 3u);
}

// Which of the two wins is Node::Restore's rule (tests/daemon/node_snapshot_test.cc).
TEST_F(StateFileTest, APeerMetTwiceComesBackAsBothRecordsInFileOrder) {
  PersistedState s = Sample();
  s.peers.push_back({"n2", "down", 1'800'000'000'000, 1'799'999'999'600, 5, 42, 100'000});
  const auto back = DecodeState(EncodeState(s), "n1");
  ASSERT_TRUE(back) << back.message();
  ASSERT_EQ(back->peers.size(), 4u);
  EXPECT_EQ(back->peers[0].id, "n2");
  EXPECT_EQ(back->peers[3].id, "n2");
  EXPECT_EQ(back->peers[3].state, "down");
  EXPECT_EQ(back->peers[3].sequence, 42u);
}

TEST_F(StateFileTest, RejectsEveryKindOfBadBinaryFile) {
  const std::string good = EncodeState(Sample());
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x01;
  std::string v4 = good;
  v4[11] = 4;
  PersistedState other = Sample();
  other.node_id = "n9";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "no VGSTATE magic"},
      {"{\"format\":\"vigil-state\"}", "no VGSTATE magic"},
      {good.substr(0, good.size() - 1), "checksum mismatch: truncated or corrupt"},
      {good.substr(0, 40), "checksum mismatch"},
      {flipped, "checksum mismatch"},
      {v4, "unsupported state file version 4"},
      {EncodeState(other), "written by node 'n9', not by this node 'n1'"},
  };
  for (const auto& [bytes, reason] : cases) {
    WriteFile("state.bin", bytes);
    const auto read = ReadStateFile(dir_, "n1");
    EXPECT_EQ(read.status().code(), Status::Code::kCorruption) << reason;
    const std::string why = read.message();
    EXPECT_NE(why.find(reason), std::string::npos) << "expected " << reason << ": " << why;
    EXPECT_NE(why.find("state.bin"), std::string::npos) << why;
  }
}

TEST_F(StateFileTest, MissingIsNotAnError) {
  EXPECT_EQ(ReadStateFile(dir_, "n1").status().code(), Status::Code::kNotFound);
}

TEST_F(StateFileTest, RejectsEveryKindOfBadLegacyFile) {
  const std::string good = kLegacyFile;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not valid JSON"},
      {good.substr(0, good.size() / 2), "truncated or corrupt"},
      {"[1,2,3]", "not a JSON object"},
      {"{\"format\":\"other\"}", "not a vigil state file"},
      {"{\"format\":\"vigil-state\",\"version\":3}", "unsupported state file version"},
      {"{\"format\":\"vigil-state\",\"version\":1,\"node\":\"n9\"}", "written by node 'n9'"},
      {"{\"format\":\"vigil-state\",\"version\":1,\"node\":\"n1\",\"incarnation\":-1}",
       "missing \"incarnation\""},
      {"{\"format\":\"vigil-state\",\"version\":1,\"node\":\"n1\",\"incarnation\":1,"
       "\"written\":1,\"peers\":[{\"id\":\"a\",\"state\":\"sideways\"}]}",
       "peer 'a' has no valid \"state\""},
      {"{\"format\":\"vigil-state\",\"version\":1,\"node\":\"n1\",\"incarnation\":1,"
       "\"written\":1,\"peers\":[{\"id\":\"a\",\"state\":\"up\",\"since\":1,\"incarnation\":1,"
       "\"last_heartbeat\":\"yesterday\"}]}",
       "no valid \"last_heartbeat\""},
  };
  for (const auto& [text, reason] : cases) {
    Write(text);
    const auto read = ReadStateFile(dir_, "n1");
    EXPECT_EQ(read.status().code(), Status::Code::kCorruption) << text;
    const std::string why = read.message();
    EXPECT_NE(why.find(reason), std::string::npos) << "for " << text << ": " << why;
  }
}

// `bytes` (a state.bin) with its body changed by `change` and its checksum made to match:
// what only the record checks can catch.
std::string Resealed(std::string bytes, const std::function<void(std::string&)>& change) {
  std::string body = bytes.substr(0, bytes.size() - 16);
  change(body);
  unsigned char sum[16];
  crypto_generichash(sum, sizeof sum, reinterpret_cast<const unsigned char*>(body.data()),
                     body.size(), nullptr, 0);
  return body + std::string(reinterpret_cast<const char*>(sum), sizeof sum);
}

TEST_F(StateFileTest, RejectsBadRecordsEvenWithAMatchingChecksum) {
  const std::string good = EncodeState(Sample());
  constexpr std::size_t kFirstRecord = 51;  // the header with node id "n1"
  ASSERT_EQ(good[kFirstRecord], 2);         // "n2"
  const std::vector<std::pair<std::string, std::string>> cases = {
      {Resealed(good, [](std::string& b) { b[kFirstRecord + 3] = 9; }),
       "peer 'n2' has no valid state (9)"},
      {Resealed(good, [](std::string& b) { b[kFirstRecord + 4] |= 0x40; }),
       "peer 'n2' has unknown flags"},
      {Resealed(good, [](std::string& b) { b += "xy"; }), "2 bytes after the last peer record"},
      {Resealed(good, [](std::string& b) { b.resize(b.size() - 3); }),
       "peer 'user-1': the record is cut short"},
      {Resealed(good, [](std::string& b) { b[kFirstRecord] = 0; }),
       "a peer record has no valid id"},
  };
  for (const auto& [bytes, reason] : cases) {
    WriteFile("state.bin", bytes);
    const auto read = ReadStateFile(dir_, "n1");
    EXPECT_EQ(read.status().code(), Status::Code::kCorruption) << reason;
    EXPECT_NE(read.message().find(reason), std::string::npos)
        << "expected " << reason << ": " << read.message();
  }
  WriteFile("state.bin", Resealed(good, [](std::string&) {}));
  EXPECT_TRUE(ReadStateFile(dir_, "n1")) << "resealing alone must keep the file good";
}

TEST_F(StateFileTest, QuarantineMovesTheFileAside) {
  Write("junk");
  const std::string moved = QuarantineStateFile(dir_, WallTime(std::chrono::milliseconds(42)));
  EXPECT_EQ(moved, dir_ + "/state.json.bad-42");
  EXPECT_TRUE(std::filesystem::exists(moved));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/state.json"));
  WriteFile("state.bin", "junk");
  EXPECT_EQ(QuarantineStateFile(dir_, WallTime(std::chrono::milliseconds(43))),
            dir_ + "/state.bin.bad-43");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/state.bin"));
}

TEST_F(StateFileTest, WriteFailsCleanlyInAMissingDirectory) {
  const Status error = WriteStateFile(dir_ + "/does/not/exist", Sample());
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.message().find("cannot create"), std::string::npos) << error.message();
}

}  // namespace
}  // namespace vigil
