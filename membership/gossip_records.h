// The membership datagram's fixed-size records (docs/membership.md, "Messages"): Pull,
// Census, Digest and Summary, checked, written and read. Internal to gossip_wire.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "membership/gossip_wire.h"

namespace vigil::membership::records {

Status CheckRecord(const Pull& p);
Status CheckRecord(const Census& c);
Status CheckRecord(const Summary& s);
std::size_t RecordSize(const Summary& s);
// Append the record's bytes.
void PutRecord(std::vector<std::uint8_t>& out, const Pull& p);
void PutRecord(std::vector<std::uint8_t>& out, const Census& c);
void PutRecord(std::vector<std::uint8_t>& out, const Digest& d);
void PutRecord(std::vector<std::uint8_t>& out, const Summary& s);
// Read the record at d[pos] (of its kinds) into `gossip` and advance `pos`; on failure false
// with `*why` set. Require pos < end <= d.size().
bool ReadBucketRecord(std::span<const std::uint8_t> d, std::size_t& pos, std::size_t end,
                      Gossip* gossip, GossipReject* why);
bool ReadDigestRecord(std::span<const std::uint8_t> d, std::size_t& pos, std::size_t end,
                      Gossip* gossip, GossipReject* why);

}  // namespace vigil::membership::records
