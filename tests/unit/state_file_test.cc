// The state file: round trip, atomic replacement, and every kind of bad file.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

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
  void Write(const std::string& text) {
    std::ofstream(dir_ + "/state.json", std::ios::binary | std::ios::trunc) << text;
  }
  std::string dir_;
};

PersistedState Sample() {
  PersistedState s;
  s.node_id = "n1";
  s.incarnation = 77;
  s.written_ms = 1'800'000'000'000;
  s.peers.push_back({"n2", "up", 1'799'999'999'000, 1'799'999'999'500, 5});
  s.peers.push_back({"n3", "unknown", 1'799'999'990'000, std::nullopt, 0});
  return s;
}

TEST_F(StateFileTest, RoundTrips) {
  ASSERT_TRUE(WriteStateFile(dir_, Sample()).ok());
  const auto read = ReadStateFile(dir_, "n1");
  ASSERT_TRUE(read) << read.message();
  const PersistedState& back = *read;
  EXPECT_EQ(back.incarnation, 77u);
  ASSERT_EQ(back.peers.size(), 2u);
  EXPECT_EQ(back.peers[0].id, "n2");
  EXPECT_EQ(back.peers[0].state, "up");
  EXPECT_EQ(*back.peers[0].last_heartbeat_ms, 1'799'999'999'500);
  EXPECT_EQ(back.peers[0].incarnation, 5u);
  EXPECT_FALSE(back.peers[1].last_heartbeat_ms);
  // Private to the daemon's user; no temporary left behind.
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/state.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/state.json.tmp"));
}

TEST_F(StateFileTest, MissingIsNotAnError) {
  EXPECT_EQ(ReadStateFile(dir_, "n1").status().code(), Status::Code::kNotFound);
}

TEST_F(StateFileTest, RejectsEveryKindOfBadFile) {
  ASSERT_TRUE(WriteStateFile(dir_, Sample()).ok());
  std::string good;
  {
    std::ifstream in(dir_ + "/state.json");
    std::getline(in, good);
  }
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

TEST_F(StateFileTest, QuarantineMovesTheFileAside) {
  Write("junk");
  const std::string moved = QuarantineStateFile(dir_, WallTime(std::chrono::milliseconds(42)));
  EXPECT_EQ(moved, dir_ + "/state.json.bad-42");
  EXPECT_TRUE(std::filesystem::exists(moved));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/state.json"));
}

TEST_F(StateFileTest, WriteFailsCleanlyInAMissingDirectory) {
  const Status error = WriteStateFile(dir_ + "/does/not/exist", Sample());
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.message().find("cannot create"), std::string::npos) << error.message();
}

}  // namespace
}  // namespace vigil
