// Where members are: each member's contact (an opaque string the shell gives meaning to;
// vigild's is an address and port), as the newest incarnation that named one said it.
// MembershipNode lists it with the member and the shell sends there (docs/membership.md,
// "Contacts").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/string_hash.h"

namespace vigil::membership {

// Not thread-safe. Holds only members with a non-empty contact (the simulator gives none,
// and pays nothing for it).
class ContactBook {
 public:
  // Who says where a member is, from the least to the most trusted at one incarnation.
  enum class Source : std::uint8_t {
    kGuessed,  // the source address of its membership datagram (which may be a replay)
    kListing,  // another member's record about it
    kHeard,    // the source address of its heartbeat, new to an observer of it
    kItself,   // its own record (a Join, its refutation, its Welcome)
  };
  // Keeps `contact` for `member` at `incarnation` if no entry holds one, the entry's is of an
  // older incarnation, or of the same one from a less trusted source. An empty contact and
  // incarnation 2^64 - 1 (which nothing could ever replace) change nothing.
  void Note(const std::string& member, std::string_view contact, std::uint64_t incarnation,
            Source source);
  // `member`'s contact; empty if none is known. Valid until the next Note or Prune.
  std::string_view Find(std::string_view member) const;
  // Drops every entry for which `keep` is false.
  void Prune(const std::function<bool(const std::string&)>& keep);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string contact;
    std::uint64_t incarnation = 0;
    Source source = Source::kGuessed;
  };
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries_;
};

}  // namespace vigil::membership
