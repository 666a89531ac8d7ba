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

Result<Endpoint> ParseEndpoint(std::string_view text,
                                      std::uint16_t default_port) {
  Endpoint ep;
  ep.port = default_port;
  std::string_view host = text;
  std::string_view port;
  if (text.empty()) {
    return Status::InvalidArgument("empty address");
  }
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("missing ']' after IPv6 address");
    }
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Status::InvalidArgument("expected ':port' after ']'");
      }
      port = rest.substr(1);
      if (port.empty()) {
        return Status::InvalidArgument("empty port");
      }
    }
    if (!IsIPv6(std::string(host))) {
      return Status::InvalidArgument("'" + std::string(host) + "' is not an IPv6 address");
    }
    ep.kind = Endpoint::HostKind::kIPv6;
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      // Several colons: a bare IPv6 literal, no port.
      if (!IsIPv6(std::string(text))) {
        return Status::InvalidArgument("'" + std::string(text) + "' is not an IPv6 address (write [addr]:port)");
      }
      ep.kind = Endpoint::HostKind::kIPv6;
    } else {
      if (colon != std::string_view::npos) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (port.empty()) {
          return Status::InvalidArgument("empty port");
        }
      }
      const std::string h(host);
      if (IsIPv4(h)) {
        ep.kind = Endpoint::HostKind::kIPv4;
      } else if (!h.empty() && std::isdigit(static_cast<unsigned char>(h.back())) &&
                 h.find_first_not_of("0123456789.") == std::string::npos) {
        return Status::InvalidArgument("'" + h + "' is not a valid IPv4 address");
      } else if (IsHostName(h)) {
        ep.kind = Endpoint::HostKind::kName;
      } else {
        return Status::InvalidArgument("'" + h + "' is neither an IP address nor a valid host name");
      }
    }
  }
  ep.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return Status::InvalidArgument("port '" + std::string(port) + "' is not a number from 1 to 65535");
    }
    ep.port = static_cast<std::uint16_t>(value);
  }
  return ep;
}

}  // namespace vigil
