#include "daemon/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "daemon/state_codec.h"
#include "detector/peer_state.h"
#include "json/json_text.h"

namespace vigil {

namespace json = boost::json;

namespace {

// The JSON format of vigil 0.2 and earlier, read but no longer written.
constexpr const char* kFormat = "vigil-state";
constexpr std::int64_t kVersion = 2;
constexpr std::int64_t kOldestVersion = 1;
constexpr std::size_t kMaxLegacyFileSize = std::size_t{256} << 20;
// A binary record is at most 103 bytes: room for 10,000,000 peers (enrollment.max_peers'
// ceiling) and their remembered ones.
constexpr std::size_t kMaxFileSize = std::size_t{2} << 30;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

bool WriteAll(int fd, std::string_view data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool GetUint(const json::object& obj, const char* key, std::uint64_t* into) {
  const auto* x = obj.if_contains(key);
  if (!x) return false;
  if (x->is_uint64()) {
    *into = x->as_uint64();
    return true;
  }
  if (x->is_int64() && x->as_int64() >= 0) {
    *into = static_cast<std::uint64_t>(x->as_int64());
    return true;
  }
  return false;
}

bool GetInt(const json::object& obj, const char* key, std::int64_t* into) {
  const auto* x = obj.if_contains(key);
  if (!x || !x->is_int64()) return false;
  *into = x->as_int64();
  return true;
}

// One entry of "peers"; on failure returns what is wrong with it.
std::optional<std::string> ReadPeer(const json::value& pv, bool v2, PersistedPeer* out) {
  if (!pv.is_object()) return "a peer entry is not an object";
  const auto& po = pv.as_object();
  PersistedPeer p;
  const auto* id = po.if_contains("id");
  const auto* st_name = po.if_contains("state");
  if (!id || !id->is_string()) return "a peer entry has no \"id\"";
  p.id = std::string(id->as_string());
  if (!st_name || !st_name->is_string() || !ParsePeerState(std::string(st_name->as_string()))) {
    return fmt::format("peer '{}' has no valid \"state\"", p.id);
  }
  p.state = std::string(st_name->as_string());
  if (!GetInt(po, "since", &p.since_ms)) return fmt::format("peer '{}' has no \"since\"", p.id);
  if (!GetUint(po, "incarnation", &p.incarnation)) {
    return fmt::format("peer '{}' has no \"incarnation\"", p.id);
  }
  std::uint64_t interval_us = 0;
  if (v2 && (!GetUint(po, "sequence", &p.sequence) || !GetUint(po, "interval_us", &interval_us) ||
             interval_us > std::numeric_limits<std::uint32_t>::max())) {
    return fmt::format("peer '{}' has no valid \"sequence\" or \"interval_us\"", p.id);
  }
  p.interval_us = static_cast<std::uint32_t>(interval_us);
  if (const auto* enrolled = po.if_contains("enrolled")) {
    if (!enrolled->is_bool()) return fmt::format("peer '{}' has no valid \"enrolled\"", p.id);
    p.enrolled = enrolled->as_bool();
  }
  const auto* last = po.if_contains("last_heartbeat");
  if (last && last->is_int64()) {
    p.last_heartbeat_ms = last->as_int64();
  } else if (!last || !last->is_null()) {
    return fmt::format("peer '{}' has no valid \"last_heartbeat\"", p.id);
  }
  *out = std::move(p);
  return std::nullopt;
}

}  // namespace

Status WriteStateFile(const std::string& dir, const PersistedState& state) {
  return WriteStateBytes(dir, EncodeState(state));
}

Status WriteStateBytes(const std::string& dir, std::string_view text) {
  const std::string path = dir + "/" + kStateFileName;
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(Errno("cannot create " + tmp));
  if (!WriteAll(fd, text) || ::fsync(fd) != 0) {
    const std::string e = Errno("cannot write " + tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::IOError(e);
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError(Errno("cannot close " + tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = Errno("cannot rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return Status::IOError(e);
  }
  // The JSON file of vigil 0.2 and earlier is read only while there is no newer file.
  ::unlink((dir + "/" + kLegacyStateFileName).c_str());
  // Make the rename (and the unlink) durable.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

namespace {

// The whole of `path`, at most `limit` bytes: NotFound, IOError or Corruption otherwise.
Result<std::string> ReadWhole(const std::string& path, std::size_t limit) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound("no state file " + path);
    return Status::IOError(Errno("cannot stat " + path));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::Corruption(path + " is not a regular file");
  }
  if (static_cast<std::size_t>(st.st_size) > limit) {
    return Status::Corruption(
        fmt::format("{} is {} bytes, more than a state file can be", path, st.st_size));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(Errno("cannot read " + path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The JSON state file of vigil 0.2 and earlier (format versions 1 and 2).
Result<PersistedState> ReadLegacyJson(const std::string& path, const std::string& text,
                                      const std::string& node_id) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec) {
    return Status::Corruption(fmt::format("{} is not valid JSON ({}): truncated or corrupt", path, ec.message()));
  }
  auto bad = [&](const std::string& what) {
    return Status::Corruption(fmt::format("{}: {}", path, what));
  };
  if (!v.is_object()) return bad("not a JSON object");
  const auto& o = v.as_object();
  const auto* format = o.if_contains("format");
  if (!format || !format->is_string() || format->as_string() != kFormat) {
    return bad("not a vigil state file (no \"format\": \"vigil-state\")");
  }
  const auto* version = o.if_contains("version");
  if (!version || !version->is_int64() || version->as_int64() < kOldestVersion ||
      version->as_int64() > kVersion) {
    return bad("unsupported state file version");
  }
  const bool v2 = version->as_int64() >= 2;
  const auto* node = o.if_contains("node");
  if (!node || !node->is_string()) return bad("missing \"node\"");
  if (node->as_string() != node_id) {
    return bad(fmt::format("written by node '{}', not by this node '{}'",
                           std::string(node->as_string()), node_id));
  }
  PersistedState state;
  state.node_id = node_id;
  if (!GetUint(o, "incarnation", &state.incarnation)) return bad("missing \"incarnation\"");
  if (!GetInt(o, "written", &state.written_ms)) return bad("missing \"written\"");
  if (v2) {
    const auto* clean = o.if_contains("clean_stop");
    if (!clean || !clean->is_bool()) return bad("missing \"clean_stop\"");
    state.clean_stop = clean->as_bool();
    if (!GetUint(o, "last_event_id", &state.last_event_id)) return bad("missing \"last_event_id\"");
  }
  const auto* peers = o.if_contains("peers");
  if (!peers || !peers->is_array()) return bad("missing \"peers\"");
  for (const auto& pv : peers->as_array()) {
    PersistedPeer p;
    if (auto what = ReadPeer(pv, v2, &p)) return bad(*what);
    state.peers.push_back(std::move(p));
  }
  return state;
}

}  // namespace

Result<PersistedState> ReadStateFile(const std::string& dir, const std::string& node_id) {
  const std::string path = dir + "/" + kStateFileName;
  auto bytes = ReadWhole(path, kMaxFileSize);
  if (bytes) {
    auto state = DecodeState(*bytes, node_id);
    if (!state) return Status::Corruption(fmt::format("{}: {}", path, state.message()));
    return state;
  }
  if (bytes.status().code() != Status::Code::kNotFound) return bytes.status();
  const std::string legacy = dir + "/" + kLegacyStateFileName;
  auto text = ReadWhole(legacy, kMaxLegacyFileSize);
  if (!text) return text.status();
  return ReadLegacyJson(legacy, *text, node_id);
}

std::string QuarantineStateFile(const std::string& dir, WallTime now) {
  // The file ReadStateFile read: state.bin unless there is none.
  std::string from = dir + "/" + kStateFileName;
  struct stat st {};
  if (::stat(from.c_str(), &st) != 0 && errno == ENOENT) from = dir + "/" + kLegacyStateFileName;
  const std::string to = fmt::format("{}.bad-{}", from, EpochMillis(now));
  if (::rename(from.c_str(), to.c_str()) != 0) return "";
  return to;
}

}  // namespace vigil
