// What members tell each other besides heartbeats: reports (an observer convicts a subject)
// and refutations (a member is alive at a newer incarnation). MembershipNode makes and
// consumes them; membership/gossip_wire.h puts them on the wire (docs/membership.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::membership {

// "`observer` convicts `subject`'s `incarnation`", the `round`-th time it says so (a repeat
// has a higher round, so that nodes forward it again and its lifetime starts over everywhere).
struct Report {
  std::string observer;
  std::string subject;
  std::uint64_t incarnation = 0;
  std::uint32_t round = 0;
  bool operator==(const Report&) const = default;
};

// "`member` is alive at `incarnation`": a refutation (SWIM). A member that learns it is
// reported raises its incarnation and says so; every report of an older incarnation is void.
struct Alive {
  std::string member;
  std::uint64_t incarnation = 0;
  bool operator==(const Alive&) const = default;
};

// Rounds of notices (a report that tells a member it was taken out, docs/membership.md,
// "Coming back") count from here, so that they never repeat an observer's conviction of the
// same incarnation: those count from 1 and, one each 4 s, would need 272 years to get here.
inline constexpr std::uint32_t kFirstNoticeRound = 1u << 31;

// What one node tells another in one go (the shell cuts it into datagrams).
struct Gossip {
  std::vector<Report> reports;
  std::vector<Alive> alives;
};

}  // namespace vigil::membership
