#include "daemon/metrics_listener.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

#include "daemon/http_session.h"

namespace vigil {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

bool ServedOverTcp(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/metrics" || path == "/v1/health";
}

MetricsListener::MetricsListener(asio::io_context& io, MetricsListenerOptions options,
                                 RouteFn route, DaemonCounters& counters, LogFn warn)
    : io_(io),
      options_(std::move(options)),
      route_(std::move(route)),
      counters_(counters),
      warn_(std::move(warn)),
      acceptor_(io) {}

MetricsListener::~MetricsListener() { Stop(); }

Result<std::unique_ptr<MetricsListener>> MetricsListener::Open(asio::io_context& io,
                                                       MetricsListenerOptions options,
                                                       RouteFn route, DaemonCounters& counters, LogFn warn) {
  std::unique_ptr<MetricsListener> l(
      new MetricsListener(io, std::move(options), std::move(route), counters, std::move(warn)));
  boost::system::error_code ec;
  const tcp::endpoint& ep = l->options_.endpoint;
  l->acceptor_.open(ep.protocol(), ec);
  if (!ec) l->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) l->acceptor_.bind(ep, ec);
  if (!ec) l->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError(fmt::format("cannot listen on metrics.listen {}:{}: {}",
                                       ep.address().to_string(), ep.port(), ec.message()));
  }
  return l;
}

void MetricsListener::Start(std::function<void(std::exception_ptr)> on_end) {
  asio::co_spawn(io_, AcceptLoop(), std::move(on_end));
}

void MetricsListener::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  for (auto* s : connections_) s->close(ec);
}

tcp::endpoint MetricsListener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

asio::awaitable<void> MetricsListener::AcceptLoop() {
  return AcceptUntilStopped(acceptor_, stopped_, warn_, "metrics listener", [this](tcp::socket s) {
    if (open_ >= options_.max_connections) {
      ++counters_.api_connections_refused;
      static const std::string kBusy =
          BusyResponse(fmt::format("{} on metrics.listen", options_.max_connections));
      RefuseConnection(s, kBusy);
      return;
    }
    SpawnSession(io_.get_executor(), Session(std::move(s)), warn_, "metrics connection");
  });
}

asio::awaitable<void> MetricsListener::Session(tcp::socket socket) {
  ++open_;
  beast::tcp_stream stream(std::move(socket));
  connections_.push_back(&stream.socket());
  struct Leave {
    MetricsListener& l;
    std::list<tcp::socket*>::iterator it;
    ~Leave() {
      l.connections_.erase(it);
      --l.open_;
    }
  } leave{*this, std::prev(connections_.end())};
  beast::flat_buffer buffer;
  while (!stopped_) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(0);
    stream.expires_after(options_.idle_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser,
                                              asio::as_tuple(asio::use_awaitable));
    if (ClientWentAway(ec) || stopped_) break;
    ++counters_.api_requests;
    if (ec) {
      ++counters_.api_errors;
      auto bad = ToHttpResponse(ErrorResponse(400, "malformed HTTP request: " + ec.message()), 11,
                                false);
      co_await http::async_write(stream, bad, asio::as_tuple(asio::use_awaitable));
      co_await DrainBeforeClose(stream);
      break;
    }
    const auto& req = parser.get();
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view method(req.method_string().data(), req.method_string().size());
    ApiResponse r = ServedOverTcp(target)
                        ? route_(method, target)
                        : ErrorResponse(404, "only /metrics and /v1/health are served on "
                                             "metrics.listen; the rest of the API is on the "
                                             "Unix socket (docs/api.md)");
    if (r.status >= 400) ++counters_.api_errors;
    auto res = ToHttpResponse(r, req.version(), req.keep_alive());
    const bool written = co_await WriteWithProgressTimeout(stream, res, options_.idle_timeout);
    if (!written || !req.keep_alive()) break;
  }
  boost::system::error_code sec;
  stream.socket().shutdown(tcp::socket::shutdown_both, sec);
  stream.socket().close(sec);
}

}  // namespace vigil
