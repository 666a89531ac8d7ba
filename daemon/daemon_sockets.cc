// The Daemon's sockets: the UDP endpoint, the API socket and the optional metrics listener.
#include "daemon/daemon.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vigil {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

udp::endpoint BindEndpoint(const Endpoint& e) {
  return udp::endpoint(asio::ip::make_address(e.host), e.port);
}

}  // namespace

Status Daemon::OpenSockets() {
  auto udp = UdpEndpoint::Open(io_, BindEndpoint(config_.node.bind));
  if (!udp) return udp.status();
  udp_ = std::move(udp).value();
  udp_->set_coalesce_window(config_.node.receive_coalesce);
  const auto local = udp_->local_endpoint();
  self_.bind = fmt::format("{}:{}", local.address().to_string(), local.port());

  ApiServerOptions api_options;
  api_options.api = config_.api;
  auto api = ApiServer::Open(
      io_, api_options,
      [this](std::string_view m, std::string_view t, std::optional<std::string_view> id) {
        return Route(m, t, id);
      },
      node_->events(), counters_, [](const std::string& line) { spdlog::warn("{}", line); });
  if (!api) {
    udp_->Close();
    return api.status();
  }
  api_ = std::move(api).value();
  if (config_.metrics.listen) {
    MetricsListenerOptions m;
    m.endpoint = asio::ip::tcp::endpoint(asio::ip::make_address(config_.metrics.listen->host),
                                         config_.metrics.listen->port);
    m.idle_timeout = config_.api.idle_timeout;
    auto metrics = MetricsListener::Open(
        io_, m,
        [this](std::string_view method, std::string_view target) {
          return Route(method, target, std::nullopt);
        },
        counters_, [](const std::string& line) { spdlog::warn("{}", line); });
    if (!metrics) {
      udp_->Close();
      api_->Stop();
      return metrics.status();
    }
    metrics_ = std::move(metrics).value();
  }
  return Status::OK();
}

}  // namespace vigil
