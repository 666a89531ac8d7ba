#include "ctl/api_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

namespace vigil {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::local::stream_protocol;

void SseParser::Feed(std::string_view bytes,
                     const std::function<void(const SseEvent&)>& on_event) {
  for (char c : bytes) {
    if (c != '\n') {
      if (c != '\r') line_ += c;
      continue;
    }
    if (line_.empty()) {
      if (has_data_) on_event(current_);
      current_ = SseEvent{};
      has_data_ = false;
      continue;
    }
    if (line_.front() != ':') {
      const auto colon = line_.find(':');
      const std::string field = line_.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line_.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (field == "id") {
        current_.id = value;
      } else if (field == "event") {
        current_.event = value;
      } else if (field == "data") {
        if (has_data_) current_.data += '\n';
        current_.data += value;
        has_data_ = true;
      }
    }
    line_.clear();
  }
}

namespace {

// Connects with send/receive timeouts so a wedged daemon cannot hang the CLI.
bool Connect(asio::io_context& io, stream_protocol::socket& socket, const std::string& path,
             std::chrono::milliseconds timeout, std::string* error) {
  boost::system::error_code ec;
  socket.connect(stream_protocol::endpoint(path), ec);
  if (ec) {
    *error = fmt::format("no vigild listening on {}: {}", path, ec.message());
    return false;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  (void)io;
  return true;
}

}  // namespace

std::optional<HttpResult> ApiClient::Get(const std::string& target, std::string* error) const {
  asio::io_context io;
  stream_protocol::socket socket(io);
  if (!Connect(io, socket, path_, timeout_, error)) return std::nullopt;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "vigilctl");
  req.keep_alive(false);
  boost::system::error_code ec;
  http::write(socket, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(socket, buffer, res, ec);
  if (ec && ec != http::error::end_of_stream) {
    *error = fmt::format("talking to vigild on {}: {}", path_, ec.message());
    return std::nullopt;
  }
  HttpResult r;
  r.status = static_cast<int>(res.result_int());
  r.content_type = std::string(res[http::field::content_type]);
  r.body = std::move(res.body());
  return r;
}

bool ApiClient::StreamEvents(std::optional<std::string> last_event_id,
                             const std::function<bool()>& on_open,
                             const std::function<bool(const SseEvent&)>& on_event,
                             std::optional<std::chrono::steady_clock::time_point> deadline,
                             bool* timed_out, std::string* error,
                             const std::atomic<bool>* cancel) const {
  *timed_out = false;
  asio::io_context io;
  stream_protocol::socket socket(io);
  if (!Connect(io, socket, path_, timeout_, error)) return false;
  http::request<http::empty_body> req{http::verb::get, "/v1/events", 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "vigilctl");
  req.set(http::field::accept, "text/event-stream");
  if (last_event_id) req.set("Last-Event-ID", *last_event_id);
  boost::system::error_code ec;
  http::write(socket, req, ec);
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  if (!ec) http::read_header(socket, buffer, parser, ec);
  if (ec) {
    *error = fmt::format("talking to vigild on {}: {}", path_, ec.message());
    return false;
  }
  if (parser.get().result_int() != 200) {
    *error = fmt::format("vigild answered {} to /v1/events", parser.get().result_int());
    return false;
  }
  if (!on_open()) return true;
  SseParser sse;
  bool stop = false;
  std::array<char, 4096> chunk{};
  while (!stop) {
    if (cancel && cancel->load()) return true;
    // Wait for data with poll so the deadline is honoured between keep-alives.
    int wait_ms = 1000;
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        *timed_out = true;
        return true;
      }
      wait_ms = static_cast<int>(std::min<long long>(left.count(), 1000));
    }
    pollfd pfd{socket.native_handle(), POLLIN, 0};
    if (buffer.size() == 0 && ::poll(&pfd, 1, wait_ms) == 0) continue;
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    http::read_some(socket, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      *error = ec == http::error::end_of_stream || ec == asio::error::eof
                   ? fmt::format("vigild on {} closed the event stream", path_)
                   : fmt::format("event stream from {}: {}", path_, ec.message());
      return false;
    }
    const std::size_t got = chunk.size() - parser.get().body().size;
    sse.Feed(std::string_view(chunk.data(), got), [&](const SseEvent& e) {
      if (!stop && !on_event(e)) stop = true;
    });
    if (parser.is_done()) {
      *error = fmt::format("vigild on {} closed the event stream", path_);
      return false;
    }
  }
  return true;
}

}  // namespace vigil
