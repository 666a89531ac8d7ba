#include "daemon/api_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "daemon/event_resume.h"
#include "daemon/http_session.h"

#include "preflight/startup_check.h"

namespace vigil {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::local::stream_protocol;

struct ApiServer::Subscriber {
  explicit Subscriber(asio::any_io_executor ex) : wake(ex), reader_exit(ex) {}
  std::string pending;         // bytes not yet handed to the socket
  // The rest of the preamble, a piece at a time (ApiResponse::sse_more); null once sent.
  std::function<bool(std::string& out, std::size_t max_bytes)> more_preamble;
  // Live events that came while the preamble was still being sent: they follow it, so no
  // event id reaches the client before the last state does.
  std::string held;
  asio::steady_timer wake;     // cancelled to wake the writer
  asio::steady_timer reader_exit;  // cancelled when the hang-up reader has finished
  bool closed = false;
  bool reader_done = false;
  stream_protocol::socket* socket = nullptr;
};

namespace {

// Whether something accepts connections on the socket file at `path`.
bool SomeoneListens(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// Whether api.allow_uids / api.allow_gids in `options` exclude the peer on socket `fd`;
// fills `cred` (SO_PEERCRED) only when either list is set.
bool PeerRefused(int fd, const ApiServerOptions& options, ucred& cred) {
  if (options.api.allow_uids.empty() && options.api.allow_gids.empty()) return false;
  socklen_t len = sizeof cred;
  const bool known = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
  auto in = [](const std::vector<std::uint32_t>& v, std::uint32_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  return !(known && (cred.uid == 0 || in(options.api.allow_uids, cred.uid) ||
                     in(options.api.allow_gids, cred.gid)));
}

}  // namespace

ApiServer::ApiServer(asio::io_context& io, ApiServerOptions options, RouteFn route,
                     const EventRing& ring, DaemonCounters& counters, LogFn warn)
    : io_(io),
      options_(std::move(options)),
      route_(std::move(route)),
      ring_(ring),
      counters_(counters),
      warn_(std::move(warn)),
      acceptor_(io) {}

ApiServer::~ApiServer() { Stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::Open(asio::io_context& io,
                                                   ApiServerOptions options, RouteFn route,
                                                   const EventRing& ring,
                                                   DaemonCounters& counters, LogFn warn) {
  const std::string path = options.api.socket;
  if (auto problem = ApiSocketPathProblem(path)) {  // the messages --check-config gives
    return Status::InvalidArgument(*problem);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (SomeoneListens(path)) {
      return Status::Busy(fmt::format("{} is in use: another vigild is listening there", path));
    }
    ::unlink(path.c_str());  // a stale socket from a crashed daemon
  }
  std::unique_ptr<ApiServer> server(
      new ApiServer(io, std::move(options), std::move(route), ring, counters, std::move(warn)));
  boost::system::error_code ec;
  server->acceptor_.open(stream_protocol(), ec);
  if (!ec) {
    // Create the socket with the final mode directly: no window where it is wider.
    const mode_t old = ::umask(static_cast<mode_t>(~server->options_.api.mode & 0777));
    server->acceptor_.bind(stream_protocol::endpoint(path), ec);
    ::umask(old);
  }
  if (!ec && ::chmod(path.c_str(), static_cast<mode_t>(server->options_.api.mode)) != 0) {
    ec = boost::system::error_code(errno, boost::system::system_category());
  }
  if (!ec) server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError(fmt::format("cannot listen on {}: {}", path, ec.message()));
  }
  return server;
}

void ApiServer::Start(std::function<void(std::exception_ptr)> on_accept_loop_end) {
  asio::co_spawn(io_, AcceptLoop(), std::move(on_accept_loop_end));
}

void ApiServer::set_limits(const ApiConfig& api) {
  // The socket's path and mode stay: they change only with a restart.
  const ApiConfig bound = options_.api;
  options_.api = api;
  options_.api.socket = bound.socket;
  options_.api.mode = bound.mode;
}

void ApiServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  if (acceptor_.is_open()) {
    acceptor_.close(ec);
    ::unlink(options_.api.socket.c_str());
  }
  for (auto* socket : connections_) socket->close(ec);
  for (auto& sub : subscribers_) {
    sub->closed = true;
    sub->wake.cancel();
  }
}

asio::awaitable<void> ApiServer::AcceptLoop() {
  return AcceptUntilStopped(acceptor_, stopped_, warn_, "API", [this](stream_protocol::socket s) {
    if (counters_.api_connections >= options_.api.max_connections) {
      ++counters_.api_connections_refused;
      static const std::string kBusy = BusyResponse("api.max_connections");
      RefuseConnection(s, kBusy);
      return;
    }
    SpawnSession(io_.get_executor(), Session(std::move(s)), warn_, "API connection");
  });
}

asio::awaitable<void> ApiServer::Session(stream_protocol::socket socket) {
  ++counters_.api_connections;
  struct Leave {
    DaemonCounters& c;
    ~Leave() { --c.api_connections; }
  } leave{counters_};

  Stream stream(std::move(socket));
  // Registered so Stop() can close it while this coroutine waits.
  connections_.push_back(&stream.socket());
  struct Unregister {
    std::list<stream_protocol::socket*>& list;
    std::list<stream_protocol::socket*>::iterator it;
    ~Unregister() { list.erase(it); }
  } unregister{connections_, std::prev(connections_.end())};

  beast::flat_buffer buffer;
  // Who is calling (SO_PEERCRED), checked against api.allow_uids / api.allow_gids.
  ucred cred{};
  const bool refused = PeerRefused(stream.socket().native_handle(), options_, cred);
  while (!stopped_) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.header_limit));
    parser.body_limit(options_.body_limit);
    stream.expires_after(options_.api.idle_timeout);
    auto [ec, bytes] =
        co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ClientWentAway(ec) || stopped_) break;
    ++counters_.api_requests;
    if (ec) {
      co_await RejectMalformed(stream, ec);
      co_await DrainBeforeClose(stream);
      break;
    }
    auto& req = parser.get();
    if (refused) {
      co_await RejectPeer(stream, cred, req.version());
      break;
    }
    std::optional<std::string_view> last_event_id;
    if (auto it = req.find("Last-Event-ID"); it != req.end()) {
      last_event_id = std::string_view(it->value().data(), it->value().size());
    }
    ApiResponse r = route_(std::string_view(req.method_string().data(), req.method_string().size()),
                           std::string_view(req.target().data(), req.target().size()),
                           last_event_id);
    if (r.status >= 400) ++counters_.api_errors;

    if (r.next_piece) {
      const bool written = co_await WriteStreamedResponse(
          stream, r, req.version(), req.keep_alive(), options_.api.idle_timeout);
      if (!written || !req.keep_alive() || req.version() < 11) break;  // close ends the body
      continue;
    }
    if (!r.stream_events) {
      const bool written = co_await WriteResponse(stream, r, req.version(), req.keep_alive());
      if (!written || !req.keep_alive()) break;
      continue;
    }
    co_await ServeEvents(stream, r);
    break;
  }
  boost::system::error_code sec;
  stream.socket().shutdown(stream_protocol::socket::shutdown_both, sec);
  stream.socket().close(sec);
}

// Serializes `response`, then writes it (api.idle_timeout bounds a write without progress).
asio::awaitable<bool> ApiServer::WriteResponse(Stream& stream, const ApiResponse& response,
                                               unsigned version, bool keep_alive) {
  auto res = ToHttpResponse(response, version, keep_alive);
  co_return co_await WriteWithProgressTimeout(stream, res, options_.api.idle_timeout);
}

// Picks the status and message for a read failure, counts the error and answers it.
asio::awaitable<void> ApiServer::RejectMalformed(Stream& stream,
                                                 const boost::system::error_code& ec) {
  int status = 400;
  std::string message = "malformed HTTP request: " + ec.message();
  if (ec == http::error::header_limit) {
    status = 431;
    message = fmt::format("request headers exceed {} bytes", options_.header_limit);
  } else if (ec == http::error::body_limit) {
    status = 413;
    message = fmt::format("request body exceeds {} bytes", options_.body_limit);
  }
  ++counters_.api_errors;
  const ApiResponse response = ErrorResponse(status, message);
  co_await WriteResponse(stream, response, 11, false);
}

// Counts and logs a refused peer, then answers its request with 403.
asio::awaitable<void> ApiServer::RejectPeer(Stream& stream, const ucred& cred, unsigned version) {
  // Answer the request that was read (a client still writing would see a reset
  // otherwise), then close.
  ++counters_.api_errors;
  ++counters_.api_connections_refused;
  warn_(fmt::format("API client refused: uid {} gid {} pid {} is not in api.allow_uids / "
                    "api.allow_gids",
                    cred.uid, cred.gid, cred.pid));
  const ApiResponse response =
      ErrorResponse(403, "this user may not use the vigil API (api.allow_uids, api.allow_gids)");
  co_await WriteResponse(stream, response, version, false);
}

// Subscribes, streams until either side closes, then unsubscribes.
asio::awaitable<void> ApiServer::ServeEvents(Stream& stream, ApiResponse& response) {
  // Server-Sent Events: headers, then the replay, then live events until either side
  // closes. No Content-Length: the body runs until the connection closes.
  const SubscriberList::iterator sub_it = Subscribe(stream, response);
  const std::shared_ptr<Subscriber> sub = *sub_it;
  WatchForHangUp(stream, sub);
  co_await PumpEvents(stream, *sub);
  co_await Unsubscribe(stream, sub_it);
}

// Turns `stream` into an event stream and registers its subscriber with the SSE head queued.
ApiServer::SubscriberList::iterator ApiServer::Subscribe(Stream& stream,
                                                         ApiResponse& response) {
  stream.expires_never();
  {
    // Keep the kernel's share of a subscriber's backlog small too, so api.sse_buffer is
    // what bounds it (the kernel may round this up).
    const int sndbuf = 32 * 1024;
    ::setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  auto sub = std::make_shared<Subscriber>(stream.get_executor());
  sub->socket = &stream.socket();
  std::string head = fmt::format(
      "HTTP/1.1 200 OK\r\nServer: vigild\r\nContent-Type: text/event-stream\r\n"
      "Cache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n"
      "retry: 1000\n\n");
  sub->pending = std::move(head);
  sub->pending += response.sse_preamble;  // what a resuming client missed
  sub->more_preamble = std::move(response.sse_more);
  subscribers_.push_back(sub);
  ++counters_.sse_clients;
  return std::prev(subscribers_.end());
}

// A reader notices the client hanging up while we have nothing to write.
void ApiServer::WatchForHangUp(Stream& stream, std::shared_ptr<Subscriber> sub) {
  asio::co_spawn(
      stream.get_executor(),
      [sub, &stream]() -> asio::awaitable<void> {
        std::array<char, 256> sink{};
        while (!sub->closed) {
          auto [rec, n] = co_await stream.socket().async_read_some(
              asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
          if (rec) break;
        }
        sub->closed = true;
        sub->reader_done = true;
        sub->wake.cancel();
        sub->reader_exit.cancel();
      },
      asio::detached);
}

// Hands the backlog to the socket whenever there is one, else waits for a wake-up or the
// keep-alive interval.
asio::awaitable<void> ApiServer::PumpEvents(Stream& stream, Subscriber& sub) {
  std::string writing;
  while (!sub.closed && !stopped_) {
    if (sub.pending.empty() && sub.more_preamble &&
        sub.more_preamble(sub.pending, options_.api.sse_buffer_bytes / 4)) {
      sub.more_preamble = nullptr;
      sub.pending += sub.held;
      sub.held.clear();
      sub.held.shrink_to_fit();
    }
    if (!sub.pending.empty()) {
      writing.clear();
      std::swap(writing, sub.pending);
      auto [wec, wn] = co_await asio::async_write(stream.socket(), asio::buffer(writing),
                                                  asio::as_tuple(asio::use_awaitable));
      if (wec) break;
      continue;
    }
    sub.wake.expires_after(options_.keepalive_interval);
    auto [tec] = co_await sub.wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!tec && !sub.closed) sub.pending += ": keep-alive\n\n";
  }
}

// Shuts the stream down and waits for its reader before dropping the subscriber.
asio::awaitable<void> ApiServer::Unsubscribe(Stream& stream, SubscriberList::iterator it) {
  Subscriber& sub = **it;
  sub.closed = true;
  boost::system::error_code cec;
  stream.socket().shutdown(stream_protocol::socket::shutdown_both, cec);
  stream.socket().cancel(cec);
  // The reader uses the stream: wait for it to finish before the stream goes away.
  if (!sub.reader_done) {
    sub.reader_exit.expires_at(asio::steady_timer::time_point::max());
    co_await sub.reader_exit.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  subscribers_.erase(it);
  --counters_.sse_clients;
}

void ApiServer::Broadcast(const EventRecord& event) {
  if (subscribers_.empty()) return;
  const std::string text = FormatSseEvent(event);
  for (auto& sub : subscribers_) {
    if (sub->closed) continue;
    if (sub->pending.size() + sub->held.size() + text.size() > options_.api.sse_buffer_bytes) {
      // Too far behind: drop it rather than buffer without bound.
      ++counters_.sse_clients_dropped;
      warn_(fmt::format("event subscriber dropped: more than {} bytes behind (api.sse_buffer)",
                        options_.api.sse_buffer_bytes));
      sub->closed = true;
      boost::system::error_code ec;
      sub->socket->close(ec);  // aborts a write stuck on a full socket
      sub->wake.cancel();
      continue;
    }
    (sub->more_preamble ? sub->held : sub->pending) += text;
    sub->wake.cancel();
  }
}

}  // namespace vigil
