// The local HTTP/1.1 API on a Unix socket (Boost.Beast), including Server-Sent Events.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "daemon/api_router.h"
#include "daemon/event_ring.h"
#include "daemon/metrics.h"

namespace vigil {

struct ApiServerOptions {
  std::string path;
  std::uint32_t mode = 0660;
  std::size_t max_connections = 64;
  Duration idle_timeout = std::chrono::seconds(30);
  std::size_t sse_buffer_bytes = 256 * 1024;
  Duration keepalive_interval = std::chrono::seconds(15);
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 16 * 1024;
  // If either is non-empty, only root, these users and these primary groups may connect
  // (SO_PEERCRED); anyone else gets 403.
  std::vector<std::uint32_t> allow_uids;
  std::vector<std::uint32_t> allow_gids;
};

// Serves the API. Requests are answered by `route` on the io_context thread, so handlers
// see a consistent Node without locks. Single-threaded like everything in the daemon.
class ApiServer {
 public:
  using RouteFn = std::function<ApiResponse(std::string_view method, std::string_view target,
                                            std::optional<std::string_view> last_event_id)>;
  using LogFn = std::function<void(const std::string&)>;

  // Binds the socket at options.path with options.mode. An existing file there is
  // replaced only if it is a socket nobody is listening on. On failure returns nullptr and
  // sets *error.
  static std::unique_ptr<ApiServer> Open(boost::asio::io_context& io, ApiServerOptions options,
                                         RouteFn route, const EventRing& ring,
                                         DaemonCounters& counters, LogFn warn, std::string* error);
  ~ApiServer();

  // Starts accepting. `on_accept_loop_end` runs if the accept loop ends (with its exception,
  // or null when it returned because Stop() was called).
  void Start(std::function<void(std::exception_ptr)> on_accept_loop_end);

  // Queues an event for every subscriber. A subscriber whose backlog would exceed
  // sse_buffer_bytes is disconnected (and logged) instead: a slow reader never blocks the
  // daemon or grows without bound.
  void Broadcast(const EventRecord& event);

  // Stops accepting, disconnects everyone, removes the socket file.
  void Stop();

  // Changes limits on the fly (a reload).
  void set_limits(std::size_t max_connections, Duration idle_timeout, std::size_t sse_buffer,
                  std::vector<std::uint32_t> allow_uids, std::vector<std::uint32_t> allow_gids);

  struct Subscriber;

 private:
  ApiServer(boost::asio::io_context& io, ApiServerOptions options, RouteFn route,
            const EventRing& ring, DaemonCounters& counters, LogFn warn);

  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> Session(boost::asio::local::stream_protocol::socket socket);

  boost::asio::io_context& io_;
  ApiServerOptions options_;
  RouteFn route_;
  const EventRing& ring_;
  DaemonCounters& counters_;
  LogFn warn_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::list<std::shared_ptr<Subscriber>> subscribers_;
  std::list<boost::asio::local::stream_protocol::socket*> connections_;  // open sessions
  bool stopped_ = false;
};

}  // namespace vigil
