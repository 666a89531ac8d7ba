#include "daemon/state_codec.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "detector/peer_state.h"
#include "transport/wire_format.h"

namespace vigil {
namespace {

constexpr std::size_t kChecksumSize = 16;
constexpr std::uint8_t kEnrolled = 0x01;
constexpr std::uint8_t kHasLastHeartbeat = 0x02;
constexpr std::uint32_t kCleanStop = 0x01;

template <typename T>
void Put(std::string& out, T value) {
  // Big-endian, appended in one go (a byte at a time cost most of a periodic write).
  std::array<char, sizeof(T)> bytes;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    const auto shift = 8 * (sizeof(T) - 1 - i);
    bytes[i] = static_cast<char>((static_cast<std::uint64_t>(value) >> shift) & 0xff);
  }
  out.append(bytes.data(), bytes.size());
}

std::array<unsigned char, kChecksumSize> Checksum(std::string_view bytes) {
  std::array<unsigned char, kChecksumSize> sum{};
  crypto_generichash(sum.data(), sum.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  return sum;
}

// Reads big-endian fields from a byte range; `ok` turns false (for good) on overrun.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  T Get() {
    if (!Has(sizeof(T))) return T{};
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v = (v << 8) | static_cast<std::uint8_t>(bytes_[pos_ + i]);
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }
  std::string_view Bytes(std::size_t n) {
    if (!Has(n)) return {};
    const auto s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  bool ok() const { return ok_; }
  std::size_t left() const { return bytes_.size() - pos_; }

 private:
  bool Has(std::size_t n) {
    if (ok_ && bytes_.size() - pos_ >= n) return true;
    ok_ = false;
    return false;
  }
  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// The fewest bytes a peer record takes: a one-character id, no last heartbeat.
constexpr std::size_t kMinRecordSize = 1 + 1 + 1 + 1 + 8 + 8 + 8 + 4;

// One peer record; on failure returns what is wrong with it.
std::optional<std::string> ReadRecord(Reader& r, PersistedPeer* p) {
  const auto id = r.Bytes(r.Get<std::uint8_t>());
  if (!r.ok() || !IsValidSenderId(id)) return "a peer record has no valid id";
  p->id = std::string(id);
  const auto state = r.Get<std::uint8_t>();
  const auto flags = r.Get<std::uint8_t>();
  if (state > static_cast<std::uint8_t>(PeerState::kLeft)) {
    return fmt::format("peer '{}' has no valid state ({})", p->id, state);
  }
  if ((flags & ~(kEnrolled | kHasLastHeartbeat)) != 0) {
    return fmt::format("peer '{}' has unknown flags {:#x}", p->id, flags);
  }
  p->state = std::string(PeerStateName(static_cast<PeerState>(state)));
  p->enrolled = (flags & kEnrolled) != 0;
  p->since_ms = r.Get<std::int64_t>();
  if (flags & kHasLastHeartbeat) p->last_heartbeat_ms = r.Get<std::int64_t>();
  p->incarnation = r.Get<std::uint64_t>();
  p->sequence = r.Get<std::uint64_t>();
  p->interval_us = r.Get<std::uint32_t>();
  if (!r.ok()) return fmt::format("peer '{}': the record is cut short", p->id);
  return std::nullopt;
}

}  // namespace

void StateFileBuilder::Begin(const PersistedState& header, std::string buffer,
                             std::size_t expected_records) {
  out_ = std::move(buffer);
  out_.clear();
  // A record is 31 or 39 bytes plus the id; 56 leaves room for 17-byte ids.
  out_.reserve(128 + expected_records * 56);
  out_.append(kStateMagic);
  Put<std::uint32_t>(out_, kStateVersion);
  Put<std::uint32_t>(out_, header.clean_stop ? kCleanStop : 0);
  Put<std::uint64_t>(out_, header.incarnation);
  Put<std::int64_t>(out_, header.written_ms);
  Put<std::uint64_t>(out_, header.last_event_id);
  count_at_ = out_.size();
  Put<std::uint64_t>(out_, 0);  // the record count, set by Finish
  Put<std::uint8_t>(out_, static_cast<std::uint8_t>(header.node_id.size()));
  out_.append(header.node_id);
  records_ = 0;
}

void StateFileBuilder::Add(const PeerFields& p) {
  Put<std::uint8_t>(out_, static_cast<std::uint8_t>(p.id.size()));
  out_.append(p.id);
  Put<std::uint8_t>(out_, static_cast<std::uint8_t>(p.state));
  Put<std::uint8_t>(out_, (p.enrolled ? kEnrolled : 0) | (p.last_heartbeat_ms ? kHasLastHeartbeat : 0));
  Put<std::int64_t>(out_, p.since_ms);
  if (p.last_heartbeat_ms) Put<std::int64_t>(out_, *p.last_heartbeat_ms);
  Put<std::uint64_t>(out_, p.incarnation);
  Put<std::uint64_t>(out_, p.sequence);
  Put<std::uint32_t>(out_, p.interval_us);
  ++records_;
}

std::string StateFileBuilder::Finish() {
  std::string count;
  Put<std::uint64_t>(count, records_);
  out_.replace(count_at_, count.size(), count);
  return std::move(out_);
}

void SealState(std::string& bytes) {
  const auto sum = Checksum(bytes);
  bytes.append(reinterpret_cast<const char*>(sum.data()), sum.size());
}

std::string EncodeState(const PersistedState& state) {
  StateFileBuilder builder;
  std::string buffer;
  buffer.reserve(64 + state.peers.size() * 56);
  builder.Begin(state, std::move(buffer));
  for (const PersistedPeer& p : state.peers) builder.Add(FieldsOf(p));
  std::string out = builder.Finish();
  SealState(out);
  return out;
}

Result<PersistedState> DecodeState(std::string_view bytes, const std::string& node_id) {
  auto bad = [](const std::string& what) { return Status::Corruption(what); };
  if (bytes.size() < kStateMagic.size() || bytes.substr(0, kStateMagic.size()) != kStateMagic) {
    return bad("not a vigil state file (no VGSTATE magic)");
  }
  Reader r(bytes.substr(kStateMagic.size()));
  const auto version = r.Get<std::uint32_t>();
  if (r.ok() && version != kStateVersion) {
    return bad(fmt::format("unsupported state file version {}", version));
  }
  if (bytes.size() < kStateMagic.size() + kChecksumSize + 4) return bad("truncated");
  const std::string_view body = bytes.substr(0, bytes.size() - kChecksumSize);
  const auto sum = Checksum(body);
  if (std::memcmp(sum.data(), bytes.data() + body.size(), kChecksumSize) != 0) {
    return bad("checksum mismatch: truncated or corrupt");
  }
  Reader b(body.substr(kStateMagic.size() + 4));
  PersistedState state;
  state.clean_stop = (b.Get<std::uint32_t>() & kCleanStop) != 0;
  state.incarnation = b.Get<std::uint64_t>();
  state.written_ms = b.Get<std::int64_t>();
  state.last_event_id = b.Get<std::uint64_t>();
  const auto count = b.Get<std::uint64_t>();
  const auto node = b.Bytes(b.Get<std::uint8_t>());
  if (!b.ok()) return bad("truncated header");
  if (node != node_id) {
    return bad(fmt::format("written by node '{}', not by this node '{}'", node, node_id));
  }
  state.node_id = node_id;
  // Sized by what the body can hold (a record takes at least kMinRecordSize bytes), never
  // by the count alone: a corrupt count must not reserve gigabytes.
  state.peers.reserve(std::min<std::uint64_t>(count, b.left() / kMinRecordSize));
  for (std::uint64_t i = 0; i < count; ++i) {
    PersistedPeer p;
    if (auto what = ReadRecord(b, &p)) return bad(*what);
    state.peers.push_back(std::move(p));
  }
  if (b.left() != 0) return bad(fmt::format("{} bytes after the last peer record", b.left()));
  return state;
}

}  // namespace vigil
