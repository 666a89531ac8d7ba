// The local HTTP/1.1 API on a Unix socket (Boost.Beast), including Server-Sent Events.
#pragma once

#include <sys/socket.h>  // ucred

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/config.h"
#include "daemon/api_router.h"
#include "daemon/event_ring.h"
#include "daemon/metrics.h"

namespace vigil {

struct ApiServerOptions {
  ApiConfig api;  // the api: section of vigil.yaml
  Duration keepalive_interval = std::chrono::seconds(15);
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 16 * 1024;
};

// Serves the API. Requests are answered by `route` on the io_context thread, so handlers
// see a consistent Node without locks. Single-threaded like everything in the daemon.
class ApiServer {
 public:
  using RouteFn = std::function<ApiResponse(std::string_view method, std::string_view target,
                                            std::optional<std::string_view> last_event_id)>;
  using LogFn = std::function<void(const std::string&)>;

  // Binds the socket at options.api.socket with options.api.mode. An existing file there is
  // replaced only if it is a socket nobody is listening on. On failure: InvalidArgument (a bad
  // path), Busy (another vigild listens there) or IOError.
  static Result<std::unique_ptr<ApiServer>> Open(boost::asio::io_context& io,
                                                 ApiServerOptions options, RouteFn route,
                                                 const EventRing& ring,
                                                 DaemonCounters& counters, LogFn warn);
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

  // Applies a reloaded api: section: every limit and the allow lists; the socket path and
  // mode change only with a restart.
  void set_limits(const ApiConfig& api);

  struct Subscriber;

 private:
  ApiServer(boost::asio::io_context& io, ApiServerOptions options, RouteFn route,
            const EventRing& ring, DaemonCounters& counters, LogFn warn);

  // One API connection: a Unix socket with Beast's timeouts.
  using Stream = boost::beast::basic_stream<boost::asio::local::stream_protocol,
                                            boost::asio::any_io_executor,
                                            boost::beast::unlimited_rate_policy>;
  using SubscriberList = std::list<std::shared_ptr<Subscriber>>;

  boost::asio::awaitable<void> AcceptLoop();
  // Serves one connection: answers its requests (or switches it to events) until the client
  // leaves, a write fails, keep-alive ends or Stop() is called; then closes the socket.
  boost::asio::awaitable<void> Session(boost::asio::local::stream_protocol::socket socket);

  // Writes `response` as an HTTP/1.x `version` response under idle_timeout; returns whether
  // the write succeeded. `stream` and `response` must outlive the returned awaitable.
  boost::asio::awaitable<bool> WriteResponse(Stream& stream, const ApiResponse& response,
                                             unsigned version, bool keep_alive);
  // Answers a request that could not be read (`ec` from the read: 400, or 431 / 413 over
  // header_limit / body_limit) with Connection: close, and counts it as an API error.
  boost::asio::awaitable<void> RejectMalformed(Stream& stream,
                                               const boost::system::error_code& ec);
  // Answers 403 to a caller (`cred`, from SO_PEERCRED) that api.allow_uids / api.allow_gids
  // exclude, counts it as an error and a refused connection, and logs it.
  boost::asio::awaitable<void> RejectPeer(Stream& stream, const ucred& cred, unsigned version);
  // Serves GET /v1/events on `stream`: the SSE head, then response.sse_preamble and the
  // pieces of response.sse_more (the replay, or the gap and the current states), then live
  // events from Broadcast() until either side closes. Leaves the stream shut down.
  boost::asio::awaitable<void> ServeEvents(Stream& stream, ApiResponse& response);
  // ServeEvents' steps. Subscribe clears the stream's timeout, shrinks its send buffer and
  // registers a subscriber (counted in sse_clients) whose backlog holds the SSE head and
  // the preamble's first piece, and which takes the rest from response.sse_more; returns
  // its place in subscribers_.
  SubscriberList::iterator Subscribe(Stream& stream, ApiResponse& response);
  // Spawns a reader that marks `sub` closed, reader_done and wakes it when the client hangs
  // up. `stream` must live until sub->reader_exit is cancelled.
  static void WatchForHangUp(Stream& stream, std::shared_ptr<Subscriber> sub);
  // Writes `sub`'s backlog as it grows (taking the next piece of the preamble whenever the
  // backlog is empty, about a quarter of api.sse_buffer, so live events that come meanwhile,
  // held until the preamble ends, still fit), and a keep-alive comment after
  // keepalive_interval of quiet, until `sub` is closed, a write fails or Stop() is called.
  boost::asio::awaitable<void> PumpEvents(Stream& stream, Subscriber& sub);
  // Closes `*it`, shuts `stream` down, waits for the hang-up reader to finish, then removes
  // the subscriber from subscribers_ and sse_clients.
  boost::asio::awaitable<void> Unsubscribe(Stream& stream, SubscriberList::iterator it);

  boost::asio::io_context& io_;
  ApiServerOptions options_;
  RouteFn route_;
  const EventRing& ring_;
  DaemonCounters& counters_;
  LogFn warn_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  SubscriberList subscribers_;
  std::list<boost::asio::local::stream_protocol::socket*> connections_;  // open sessions
  bool stopped_ = false;
};

}  // namespace vigil
