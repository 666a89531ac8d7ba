// The optional TCP listener for Prometheus (metrics.listen): GET /metrics and GET /v1/health
// over plain HTTP/1.1, nothing else. Prometheus cannot scrape a Unix socket; everything
// else of the API stays on the socket, where file permissions decide who may use it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <list>
#include <memory>
#include <string>

#include "base/status.h"
#include "daemon/api_router.h"
#include "daemon/metrics.h"

namespace vigil {

struct MetricsListenerOptions {
  boost::asio::ip::tcp::endpoint endpoint;
  std::size_t max_connections = 16;  // scrapers; more are answered 503 and closed
  Duration idle_timeout = std::chrono::seconds(30);
};

// Single-threaded like the rest of the daemon; answers on the io_context's thread.
class MetricsListener {
 public:
  using RouteFn = std::function<ApiResponse(std::string_view method, std::string_view target)>;
  using LogFn = std::function<void(const std::string&)>;

  // Binds and listens at options.endpoint. On failure: IOError ("cannot listen on
  // metrics.listen ADDR: REASON").
  static Result<std::unique_ptr<MetricsListener>> Open(boost::asio::io_context& io,
                                                       MetricsListenerOptions options,
                                                       RouteFn route, DaemonCounters& counters,
                                                       LogFn warn);
  ~MetricsListener();

  // Starts accepting; `on_end` runs when the accept loop ends (null after Stop()).
  void Start(std::function<void(std::exception_ptr)> on_end);
  // Stops accepting and closes every connection.
  void Stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  MetricsListener(boost::asio::io_context& io, MetricsListenerOptions options, RouteFn route,
                  DaemonCounters& counters, LogFn warn);
  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> Session(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  MetricsListenerOptions options_;
  RouteFn route_;
  DaemonCounters& counters_;
  LogFn warn_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::list<boost::asio::ip::tcp::socket*> connections_;
  std::size_t open_ = 0;
  bool stopped_ = false;
};

// Whether `path` (without its query) is served by the TCP listener.
bool ServedOverTcp(std::string_view target);

}  // namespace vigil
