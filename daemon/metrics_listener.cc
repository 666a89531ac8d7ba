#include "daemon/metrics_listener.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

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

std::unique_ptr<MetricsListener> MetricsListener::Open(asio::io_context& io,
                                                       MetricsListenerOptions options,
                                                       RouteFn route, DaemonCounters& counters,
                                                       LogFn warn, std::string* error) {
  std::unique_ptr<MetricsListener> l(
      new MetricsListener(io, std::move(options), std::move(route), counters, std::move(warn)));
  boost::system::error_code ec;
  const tcp::endpoint& ep = l->options_.endpoint;
  l->acceptor_.open(ep.protocol(), ec);
  if (!ec) l->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) l->acceptor_.bind(ep, ec);
  if (!ec) l->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = fmt::format("cannot listen on metrics.listen {}:{}: {}", ep.address().to_string(),
                         ep.port(), ec.message());
    return nullptr;
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
  while (!stopped_) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (stopped_ || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      warn_(fmt::format("metrics listener: accept failed: {}", ec.message()));
      asio::steady_timer t(io_, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (open_ >= options_.max_connections) {
      ++counters_.api_connections_refused;
      static constexpr std::string_view kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
      boost::system::error_code wec;
      socket.non_blocking(true, wec);
      socket.write_some(asio::buffer(kBusy), wec);
      socket.close(wec);
      continue;
    }
    asio::co_spawn(io_, Session(std::move(socket)), [this](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        warn_(fmt::format("metrics connection failed: {}", x.what()));
      }
    });
  }
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
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || stopped_) {
      break;
    }
    ++counters_.api_requests;
    if (ec) {
      ++counters_.api_errors;
      http::response<http::string_body> bad{http::status::bad_request, 11};
      bad.set(http::field::content_type, "application/json");
      bad.body() = ErrorResponse(400, "malformed HTTP request: " + ec.message()).body;
      bad.keep_alive(false);
      bad.prepare_payload();
      co_await http::async_write(stream, bad, asio::as_tuple(asio::use_awaitable));
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
    http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
    res.set(http::field::server, "vigild");
    res.set(http::field::content_type, r.content_type);
    res.set(http::field::cache_control, "no-store");
    if (!r.allow.empty()) res.set(http::field::allow, r.allow);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(r.body);
    res.prepare_payload();
    stream.expires_after(options_.idle_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    if (wec || !req.keep_alive()) break;
  }
  boost::system::error_code sec;
  stream.socket().shutdown(tcp::socket::shutdown_both, sec);
  stream.socket().close(sec);
}

}  // namespace vigil
