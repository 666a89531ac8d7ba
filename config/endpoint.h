// Network endpoints as written in the configuration: "10.0.0.2:7946", "[::1]:7946",
// "node3.example:7946".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace vigil {

inline constexpr std::uint16_t kDefaultPort = 7946;

struct Endpoint {
  enum class HostKind : std::uint8_t { kIPv4, kIPv6, kName };
  std::string host;  // without brackets
  std::uint16_t port = kDefaultPort;
  HostKind kind = HostKind::kName;

  // "host:port", with brackets around IPv6 hosts.
  std::string ToString() const;
  bool operator==(const Endpoint&) const = default;
};

// Parses host[:port]. IPv6 literals must be bracketed when a port follows ("[::1]:7946");
// a bare IPv6 literal without port is accepted. Host names must be valid RFC 1123 names.
// On failure: InvalidArgument with a short reason.
Result<Endpoint> ParseEndpoint(std::string_view text,
                                      std::uint16_t default_port = kDefaultPort);

}  // namespace vigil
