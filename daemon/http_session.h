// What the two HTTP servers of vigild (the API on the Unix socket, metrics.listen over TCP)
// share: turning an ApiResponse into an HTTP response, refusing a connection beyond the cap,
// and spawning a session whose failure is logged rather than lost.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>

#include "daemon/api_router.h"

namespace vigil {

using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// The header fields every response has: server, content type, no-store, and Allow for 405.
template <class Message>
void SetCommonFields(Message& m, const ApiResponse& r) {
  namespace http = boost::beast::http;
  m.set(http::field::server, "vigild");
  m.set(http::field::content_type, r.content_type);
  m.set(http::field::cache_control, "no-store");
  if (!r.allow.empty()) m.set(http::field::allow, r.allow);
}

// The HTTP/1.x response for `r` (status, content type, Allow, no-store, keep-alive), with
// a streamed body (r.next_piece) written out whole: for a caller that cannot stream.
HttpResponse ToHttpResponse(const ApiResponse& r, unsigned version, bool keep_alive);

// Whether a failed read means the client closed, reset or idled out the connection (or the
// server is closing it): nothing to answer, unlike a malformed request.
bool ClientWentAway(const boost::system::error_code& ec);

// After an error answer that ends the connection (a malformed request, a body over the
// limit), the client may still be sending: closing with its bytes unread would reset the
// connection, and the client might never read the answer. Stops this side's sending and
// reads and drops what comes until the client closes, for at most 1 MiB and 1 s. `stream`
// is a beast::basic_stream; it must outlive the returned awaitable.
template <class Stream>
boost::asio::awaitable<void> DrainBeforeClose(Stream& stream) {
  boost::system::error_code ec;
  stream.socket().shutdown(boost::asio::socket_base::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(1));
  std::array<char, 16 * 1024> sink;
  for (std::size_t total = 0; total < (std::size_t{1} << 20);) {
    auto [read_ec, n] = co_await stream.async_read_some(
        boost::asio::buffer(sink), boost::asio::as_tuple(boost::asio::use_awaitable));
    if (read_ec) break;
    total += n;
  }
}

// A complete 503 response that says which setting caps the connections.
std::string BusyResponse(std::string_view setting);

// Writes `response` without waiting and closes `socket`: the connection is over the cap.
template <class Socket>
void RefuseConnection(Socket& socket, std::string_view response) {
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(boost::asio::buffer(response), ec);
  socket.close(ec);
}

// Writes `response` to `stream` (a beast::basic_stream); `timeout` bounds each write that
// makes no progress, not the whole body, so a client reading a large body slowly but
// steadily gets all of it and one that stops reading is cut off. True if all was written.
template <class Stream>
boost::asio::awaitable<bool> WriteWithProgressTimeout(Stream& stream, HttpResponse& response,
                                                      std::chrono::steady_clock::duration timeout) {
  namespace http = boost::beast::http;
  http::response_serializer<http::string_body> serializer(response);
  while (!serializer.is_done()) {
    stream.expires_after(timeout);
    auto [ec, n] = co_await http::async_write_some(
        stream, serializer, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) co_return false;
  }
  co_return true;
}

// Writes `response`, whose body comes from response.next_piece, as the pieces are made:
// chunked when the connection stays open (HTTP/1.1 with keep-alive); otherwise (HTTP/1.0,
// or `Connection: close`) with neither chunks nor a length, the body running until the
// caller closes the connection, which simple clients read without decoding chunks.
// `timeout` bounds each write that makes no progress. Between pieces the coroutine gives
// the loop back (a write, or a post when a piece is empty), so heartbeats and deadlines are
// served while a large body goes out. True if all was written.
template <class Stream>
boost::asio::awaitable<bool> WriteStreamedResponse(Stream& stream, const ApiResponse& response,
                                                   unsigned version, bool keep_alive,
                                                   std::chrono::steady_clock::duration timeout) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  const bool chunked = version >= 11 && keep_alive;
  http::response<http::empty_body> head{static_cast<http::status>(response.status), version};
  SetCommonFields(head, response);
  head.keep_alive(chunked);
  head.chunked(chunked);
  http::response_serializer<http::empty_body> serializer(head);
  stream.expires_after(timeout);
  auto [ec, n] = co_await http::async_write_header(stream, serializer,
                                                   asio::as_tuple(asio::use_awaitable));
  if (ec) co_return false;
  std::string piece;
  for (bool done = false; !done;) {
    piece.clear();
    done = response.next_piece(piece);
    if (piece.empty()) {
      if (!done) co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
      continue;
    }
    stream.expires_after(timeout);
    boost::system::error_code wec;
    if (chunked) {
      std::tie(wec, std::ignore) = co_await asio::async_write(
          stream, http::make_chunk(asio::buffer(piece)), asio::as_tuple(asio::use_awaitable));
    } else {
      std::tie(wec, std::ignore) = co_await asio::async_write(
          stream, asio::buffer(piece), asio::as_tuple(asio::use_awaitable));
    }
    if (wec) co_return false;
  }
  if (chunked) {
    stream.expires_after(timeout);
    auto [lec, ln] = co_await asio::async_write(stream, http::make_chunk_last(),
                                                asio::as_tuple(asio::use_awaitable));
    if (lec) co_return false;
  }
  co_return true;
}

// Runs `session` on `executor`; if it throws, the connection is closed (by the session's
// own cleanup) and `warn` gets "<what> failed: <why>": never silent, and the server goes on.
template <class Executor, class Awaitable>
void SpawnSession(Executor executor, Awaitable session, std::function<void(const std::string&)> warn,
                  std::string what) {
  boost::asio::co_spawn(executor, std::move(session),
                        [warn = std::move(warn), what = std::move(what)](std::exception_ptr e) {
                          if (!e) return;
                          try {
                            std::rethrow_exception(e);
                          } catch (const std::exception& x) {
                            warn(what + " failed: " + x.what());
                          }
                        });
}

// Accepts on `acceptor` until `stopped` is set or the acceptor is closed. A failed accept
// (EMFILE and friends) is logged as "<what>: accept failed: <why>" and retried after 100 ms,
// so the server keeps serving; every accepted socket goes to `on_socket`. `acceptor` and
// `stopped` must outlive the coroutine.
template <class Acceptor, class OnSocket>
boost::asio::awaitable<void> AcceptUntilStopped(Acceptor& acceptor, const bool& stopped,
                                                std::function<void(const std::string&)> warn,
                                                std::string what, OnSocket on_socket) {
  namespace asio = boost::asio;
  while (!stopped) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      warn(what + ": accept failed: " + ec.message());
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    on_socket(std::move(socket));
  }
}

}  // namespace vigil
