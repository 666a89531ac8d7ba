#include "daemon/remembered_table.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace vigil {
namespace {

constexpr int kChunkShift = 18;
constexpr std::uint64_t kChunkBytes = std::uint64_t{1} << kChunkShift;  // 256 KiB
constexpr std::uint64_t kArenaLimit = std::uint64_t{1} << 32;           // 4-byte offsets
constexpr std::uint32_t kEmptySlot = std::numeric_limits<std::uint32_t>::max();

// The flags byte: bits 0-2 the state, then these.
constexpr std::uint8_t kStateMask = 0x07;
constexpr std::uint8_t kEnrolled = 0x08;
constexpr std::uint8_t kHasLastHeartbeat = 0x10;
constexpr std::uint8_t kDead = 0x80;

// Flags, id length, a 64-byte id and five varints of at most 10 bytes.
constexpr std::size_t kMaxRecordBytes = 2 + 64 + 5 * 10;

std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t UnZigZag(std::uint64_t u) {
  return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
}

std::uint8_t* PutVarint(std::uint8_t* out, std::uint64_t v) {
  while (v >= 0x80) {
    *out++ = static_cast<std::uint8_t>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<std::uint8_t>(v);
  return out;
}

std::uint64_t GetVarint(const std::uint8_t*& in) {
  std::uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const std::uint8_t b = *in++;
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
}

std::size_t Encode(const PeerFields& f, std::uint8_t* out) {
  std::uint8_t* p = out;
  *p++ = static_cast<std::uint8_t>(static_cast<std::uint8_t>(f.state) & kStateMask) |
         (f.enrolled ? kEnrolled : 0) | (f.last_heartbeat_ms ? kHasLastHeartbeat : 0);
  *p++ = static_cast<std::uint8_t>(f.id.size());
  std::memcpy(p, f.id.data(), f.id.size());
  p += f.id.size();
  if (f.last_heartbeat_ms) {
    // Since is usually close to the last heartbeat: a difference takes a few bytes.
    const std::int64_t last = *f.last_heartbeat_ms;
    p = PutVarint(p, ZigZag(last));
    p = PutVarint(p, ZigZag(static_cast<std::int64_t>(static_cast<std::uint64_t>(f.since_ms) -
                                                      static_cast<std::uint64_t>(last))));
  } else {
    p = PutVarint(p, ZigZag(f.since_ms));
  }
  p = PutVarint(p, f.incarnation);
  p = PutVarint(p, f.sequence);
  p = PutVarint(p, f.interval_us);
  return static_cast<std::size_t>(p - out);
}

std::size_t HomeIn(std::string_view id, std::size_t capacity) {
  __extension__ using Uint128 = unsigned __int128;
  const std::uint64_t h = std::hash<std::string_view>{}(id);
  return static_cast<std::size_t>((static_cast<Uint128>(h) * capacity) >> 64);
}

}  // namespace

RememberedTable::RememberedTable() : slots_(16, kEmptySlot) {}
RememberedTable::~RememberedTable() = default;
RememberedTable::RememberedTable(RememberedTable&&) noexcept = default;
RememberedTable& RememberedTable::operator=(RememberedTable&&) noexcept = default;

std::uint8_t* RememberedTable::At(Offset at) const {
  return chunks_[at >> kChunkShift].get() + (at & (kChunkBytes - 1));
}

std::string_view RememberedTable::IdAt(Offset at) const {
  const std::uint8_t* p = At(at);
  return {reinterpret_cast<const char*>(p + 2), p[1]};
}

std::size_t RememberedTable::Decode(Offset at, PeerFields* out) const {
  const std::uint8_t* start = At(at);
  const std::uint8_t flags = start[0];
  const std::uint8_t* p = start + 2 + start[1];
  const bool has_last = (flags & kHasLastHeartbeat) != 0;
  const std::int64_t first = UnZigZag(GetVarint(p));
  const std::int64_t delta = has_last ? UnZigZag(GetVarint(p)) : 0;
  const std::uint64_t incarnation = GetVarint(p);
  const std::uint64_t sequence = GetVarint(p);
  const std::uint64_t interval_us = GetVarint(p);
  if (out != nullptr) {
    out->id = IdAt(at);
    out->state = static_cast<PeerState>(flags & kStateMask);
    out->enrolled = (flags & kEnrolled) != 0;
    out->last_heartbeat_ms.reset();
    if (has_last) {
      out->last_heartbeat_ms = first;
      out->since_ms = static_cast<std::int64_t>(static_cast<std::uint64_t>(first) +
                                                static_cast<std::uint64_t>(delta));
    } else {
      out->since_ms = first;
    }
    out->incarnation = incarnation;
    out->sequence = sequence;
    out->interval_us = static_cast<std::uint32_t>(interval_us);
  }
  return static_cast<std::size_t>(p - start);
}

std::size_t RememberedTable::Home(std::string_view id) const { return HomeIn(id, slots_.size()); }

std::size_t RememberedTable::SlotOf(std::string_view id) const {
  std::size_t s = Home(id);
  while (slots_[s] != kEmptySlot && IdAt(slots_[s]) != id) {
    if (++s == slots_.size()) s = 0;
  }
  return s;
}

std::optional<PeerFields> RememberedTable::Find(std::string_view id) const {
  const std::size_t s = SlotOf(id);
  if (slots_[s] == kEmptySlot) return std::nullopt;
  PeerFields f;
  Decode(slots_[s], &f);
  return f;
}

bool RememberedTable::Put(const PeerFields& f) {
  std::array<std::uint8_t, kMaxRecordBytes> bytes;
  const std::size_t n = Encode(f, bytes.data());
  std::size_t s = SlotOf(f.id);
  if (slots_[s] != kEmptySlot) {
    const Offset old = slots_[s];
    if (Decode(old, nullptr) == n) {  // the same length: in place
      std::memcpy(At(old), bytes.data(), n);
      return true;
    }
    const auto at = Append({bytes.data(), n});
    if (!at) return false;
    MarkDead(old);
    slots_[s] = *at;
    live_bytes_ += n;
    return true;
  }
  if ((count_ + 1) * 5 > slots_.size() * 4) {  // load above 0.8
    Grow();
    s = SlotOf(f.id);
  }
  const auto at = Append({bytes.data(), n});
  if (!at) return false;
  slots_[s] = *at;
  ++count_;
  live_bytes_ += n;
  return true;
}

bool RememberedTable::Erase(std::string_view id) {
  const std::size_t s = SlotOf(id);
  if (slots_[s] == kEmptySlot) return false;
  MarkDead(slots_[s]);
  RemoveSlot(s);
  --count_;
  return true;
}

void RememberedTable::MarkDead(Offset at) {
  const std::size_t n = Decode(at, nullptr);
  At(at)[0] |= kDead;
  live_bytes_ -= n;
  dead_bytes_ += n;
}

void RememberedTable::RemoveSlot(std::size_t i) {
  // Backward-shift deletion: later entries of the probe run move up, so no tombstones.
  std::size_t j = i;
  for (;;) {
    if (++j == slots_.size()) j = 0;
    if (slots_[j] == kEmptySlot) break;
    const std::size_t k = Home(IdAt(slots_[j]));
    const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = kEmptySlot;
}

void RememberedTable::Grow() {
  std::vector<Offset> next(std::max<std::size_t>(16, slots_.size() * 3 / 2), kEmptySlot);
  for (const Offset at : slots_) {
    if (at == kEmptySlot) continue;
    std::size_t s = HomeIn(IdAt(at), next.size());
    while (next[s] != kEmptySlot) {
      if (++s == next.size()) s = 0;
    }
    next[s] = at;
  }
  slots_ = std::move(next);
}

std::optional<RememberedTable::Offset> RememberedTable::Append(
    std::span<const std::uint8_t> bytes) {
  // A new chunk when none is left at end_ (the last one filled exactly) or the record would
  // not fit in the rest of it: records never straddle chunks.
  if ((end_ >> kChunkShift) >= chunks_.size() ||
      (end_ & (kChunkBytes - 1)) + bytes.size() > kChunkBytes) {
    const std::uint64_t next = chunks_.size() * kChunkBytes;
    if (next + kChunkBytes > kArenaLimit) return std::nullopt;
    chunks_.push_back(spare_ ? std::move(spare_)
                             : std::make_unique_for_overwrite<std::uint8_t[]>(kChunkBytes));
    chunk_used_.push_back(0);
    end_ = next;
  }
  const auto at = static_cast<Offset>(end_);
  std::memcpy(At(at), bytes.data(), bytes.size());
  end_ += bytes.size();
  chunk_used_.back() = static_cast<std::uint32_t>(end_ & (kChunkBytes - 1));
  if (chunk_used_.back() == 0) chunk_used_.back() = kChunkBytes;  // filled exactly
  return at;
}

bool RememberedTable::Settle(std::uint64_t& at) const {
  for (;;) {
    if (compacting_ && at >= write_ && at < read_) at = read_;
    if (at >= end_) return false;
    const std::size_t chunk = at >> kChunkShift;
    if ((at & (kChunkBytes - 1)) < chunk_used_[chunk]) return true;
    at = (chunk + 1) * kChunkBytes;
  }
}

std::optional<std::uint64_t> RememberedTable::Walk(std::uint64_t cursor, std::size_t max,
                                                   const Sink& sink) const {
  PeerFields f;
  for (std::size_t visited = 0; visited < max; ++visited) {
    if (!Settle(cursor)) return std::nullopt;
    const auto at = static_cast<Offset>(cursor);
    cursor += Decode(at, &f);
    if ((At(at)[0] & kDead) == 0) sink(f);
  }
  return Settle(cursor) ? std::optional(cursor) : std::nullopt;
}

bool RememberedTable::NeedsCompaction() const {
  return compacting_ || (dead_bytes_ > live_bytes_ && dead_bytes_ >= 4 * kChunkBytes);
}

bool RememberedTable::CompactStep(std::size_t max) {
  if (!compacting_) {
    if (!NeedsCompaction()) return false;
    compacting_ = true;
    write_ = read_ = 0;
  }
  for (std::size_t moved = 0; moved < max; ++moved) {
    if (!Settle(read_)) {  // (the free gap ends at read_: Settle does not move it)
      FinishCompaction();
      return false;
    }
    const auto from = static_cast<Offset>(read_);
    const std::size_t n = Decode(from, nullptr);
    read_ += n;
    if (At(from)[0] & kDead) {
      dead_bytes_ -= n;
      continue;
    }
    if ((write_ & (kChunkBytes - 1)) + n > kChunkBytes) {  // the next chunk (read is past it)
      chunk_used_[write_ >> kChunkShift] = static_cast<std::uint32_t>(write_ & (kChunkBytes - 1));
      write_ = ((write_ >> kChunkShift) + 1) * kChunkBytes;
    }
    const auto to = static_cast<Offset>(write_);
    if (to != from) {
      const std::size_t s = SlotOf(IdAt(from));  // before the move may overwrite the id
      std::memmove(At(to), At(from), n);
      slots_[s] = to;
    }
    write_ += n;
    // Packed past where the chunk's records used to end (up to its very end, when no skip
    // to the next chunk sets the mark): walks and later steps must read this far.
    std::uint32_t& used = chunk_used_[to >> kChunkShift];
    used = std::max(used, static_cast<std::uint32_t>((to & (kChunkBytes - 1)) + n));
  }
  return true;
}

void RememberedTable::FinishCompaction() {
  compacting_ = false;
  std::size_t keep = 0;  // chunks that hold records
  if (write_ > 0) {
    const std::size_t last = (write_ - 1) >> kChunkShift;
    chunk_used_[last] = static_cast<std::uint32_t>(write_ - last * kChunkBytes);
    keep = last + 1;
  }
  while (chunks_.size() > keep) {
    if (!spare_) spare_ = std::move(chunks_.back());
    chunks_.pop_back();
    chunk_used_.pop_back();
  }
  end_ = write_;
  write_ = read_ = 0;
}

std::size_t RememberedTable::MemoryBytes() const {
  return (chunks_.size() + (spare_ ? 1 : 0)) * kChunkBytes + slots_.capacity() * sizeof(Offset);
}

}  // namespace vigil
