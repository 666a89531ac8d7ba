#include "config/endpoint.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>

namespace vigil {
namespace {

bool IsIPv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool IsIPv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool IsHostName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  char prev = '.';
  for (char c : s) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      if (label == 0 && c == '-') return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return prev != '-';
}

}  // namespace

std::string Endpoint::ToString() const {
  if (kind == HostKind::kIPv6) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::optional<Endpoint> ParseEndpoint(std::string_view text, std::string* why,
                                      std::uint16_t default_port) {
  Endpoint ep;
  ep.port = default_port;
  std::string_view host = text;
  std::string_view port;
  if (text.empty()) {
    *why = "empty address";
    return std::nullopt;
  }
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      *why = "missing ']' after IPv6 address";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        *why = "expected ':port' after ']'";
        return std::nullopt;
      }
      port = rest.substr(1);
      if (port.empty()) {
        *why = "empty port";
        return std::nullopt;
      }
    }
    if (!IsIPv6(std::string(host))) {
      *why = "'" + std::string(host) + "' is not an IPv6 address";
      return std::nullopt;
    }
    ep.kind = Endpoint::HostKind::kIPv6;
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      // Several colons: a bare IPv6 literal, no port.
      if (!IsIPv6(std::string(text))) {
        *why = "'" + std::string(text) + "' is not an IPv6 address (write [addr]:port)";
        return std::nullopt;
      }
      ep.kind = Endpoint::HostKind::kIPv6;
    } else {
      if (colon != std::string_view::npos) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (port.empty()) {
          *why = "empty port";
          return std::nullopt;
        }
      }
      const std::string h(host);
      if (IsIPv4(h)) {
        ep.kind = Endpoint::HostKind::kIPv4;
      } else if (!h.empty() && std::isdigit(static_cast<unsigned char>(h.back())) &&
                 h.find_first_not_of("0123456789.") == std::string::npos) {
        *why = "'" + h + "' is not a valid IPv4 address";
        return std::nullopt;
      } else if (IsHostName(h)) {
        ep.kind = Endpoint::HostKind::kName;
      } else {
        *why = "'" + h + "' is neither an IP address nor a valid host name";
        return std::nullopt;
      }
    }
  }
  ep.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      *why = "port '" + std::string(port) + "' is not a number from 1 to 65535";
      return std::nullopt;
    }
    ep.port = static_cast<std::uint16_t>(value);
  }
  return ep;
}

}  // namespace vigil
