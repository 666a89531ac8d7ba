#include "ctl/api_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

#include "ctl/connect_error.h"

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
      if (has_id_) last_event_id_ = current_.id;
      if (has_data_) on_event(current_);
      current_ = SseEvent{};
      has_data_ = has_id_ = false;
      continue;
    }
    if (line_.front() != ':') {
      const auto colon = line_.find(':');
      const std::string field = line_.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line_.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (field == "id") {
        current_.id = value;
        has_id_ = true;
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

// Connects with send/receive timeouts so a wedged daemon cannot hang the CLI. The connect
// is done by hand to keep errno: it is what tells permission, "not a socket" and "no
// daemon" apart (connect_error.h).
Status Connect(stream_protocol::socket& socket, const std::string& path,
               std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  int err = 0;
  int fd = -1;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    err = path.empty() ? ENOENT : ENAMETOOLONG;
  } else {
    std::memcpy(addr.sun_path, path.data(), path.size());
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      err = errno;
      if (fd >= 0) ::close(fd);
    }
  }
  if (err != 0) {
    const SocketFacts facts = path.empty() ? SocketFacts{} : ProbeSocket(path);
    std::string message = DescribeConnectError(path, err, facts);
    return ConnectErrorIsTransient(err, facts) ? Status::Unavailable(std::move(message))
                                               : Status::IOError(std::move(message));
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  socket.assign(stream_protocol(), fd);
  return Status::OK();
}

// The "error" of vigild's JSON error body, or the status alone.
std::string StatusMessage(unsigned status, const std::string& body) {
  const auto at = body.find("\"error\":\"");
  if (at == std::string::npos) return fmt::format("vigild answered {}", status);
  const auto from = at + 9;
  return fmt::format("vigild answered {}: {}", status,
                     body.substr(from, body.find('"', from) - from));
}

}  // namespace

Result<HttpResult> ApiClient::Get(const std::string& target) const {
  asio::io_context io;
  stream_protocol::socket socket(io);
  if (Status s = Connect(socket, path_, timeout_); !s.ok()) return s;
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
    return Status::Unavailable(fmt::format("talking to vigild on {}: {}", path_, ec.message()));
  }
  HttpResult r;
  r.status = static_cast<int>(res.result_int());
  r.content_type = std::string(res[http::field::content_type]);
  r.body = std::move(res.body());
  return r;
}

namespace {

using Parser = http::response_parser<http::buffer_body>;

// Sends the request and reads the response head; OK when vigild answered 200.
Status OpenStream(stream_protocol::socket& socket, beast::flat_buffer& buffer, Parser& parser,
                  const StreamRequest& request, const std::string& path) {
  http::request<http::empty_body> req{http::verb::get, "/v1/events", 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "vigilctl");
  req.set(http::field::accept, "text/event-stream");
  if (request.last_event_id) req.set("Last-Event-ID", *request.last_event_id);
  boost::system::error_code ec;
  http::write(socket, req, ec);
  parser.body_limit(boost::none);
  if (!ec) http::read_header(socket, buffer, parser, ec);
  if (ec) {  // e.g. it stopped between accepting and answering
    return Status::Unavailable(fmt::format("talking to vigild on {}: {}", path, ec.message()));
  }
  const unsigned status = parser.get().result_int();
  if (status == 200) return Status::OK();
  // The head is all we read; an error body is short and follows at once.
  std::string body;
  std::array<char, 512> chunk{};
  parser.get().body().data = chunk.data();
  parser.get().body().size = chunk.size();
  http::read_some(socket, buffer, parser, ec);
  body.assign(chunk.data(), chunk.size() - parser.get().body().size);
  std::string message = StatusMessage(status, body) + " to /v1/events";
  // 503: api.max_connections; a slot may free up.
  return status == 503 ? Status::Unavailable(std::move(message))
                       : Status::IOError(std::move(message));
}

// Milliseconds to wait for data: up to a second, so cancel and deadline are noticed.
int PollBudget(const StreamRequest& request, bool* timed_out) {
  int wait_ms = 1000;
  if (request.deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *request.deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      *timed_out = true;
      return 0;
    }
    wait_ms = static_cast<int>(std::min<long long>(left.count(), 1000));
  }
  return wait_ms;
}

}  // namespace

StreamOutcome ApiClient::Stream(const StreamRequest& request,
                                const StreamHandlers& handlers) const {
  StreamOutcome out;
  asio::io_context io;
  stream_protocol::socket socket(io);
  beast::flat_buffer buffer;
  Parser parser;
  out.error = Connect(socket, path_, timeout_);
  if (out.error.ok()) out.error = OpenStream(socket, buffer, parser, request, path_);
  if (!out.error.ok()) return out;
  out.opened = true;
  out.end = StreamEnd::kStopped;
  if (handlers.on_open && !handlers.on_open()) return out;
  SseParser sse;
  bool stop = false;
  std::array<char, 4096> chunk{};
  auto last_byte = std::chrono::steady_clock::now();
  auto next_tick = last_byte + std::chrono::seconds(1);
  while (!stop) {
    if (request.cancel && request.cancel->load()) {
      out.end = StreamEnd::kCancelled;
      return out;
    }
    if (handlers.on_tick && std::chrono::steady_clock::now() >= next_tick) {
      next_tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      if (!handlers.on_tick()) return out;  // kStopped
    }
    bool timed_out = false;
    const int wait_ms = PollBudget(request, &timed_out);
    if (timed_out) {
      out.end = StreamEnd::kTimedOut;
      return out;
    }
    pollfd pfd{socket.native_handle(), POLLIN, 0};
    if (buffer.size() == 0 && ::poll(&pfd, 1, wait_ms) == 0) {
      if (request.silence_limit && std::chrono::steady_clock::now() - last_byte >
                                       *request.silence_limit) {
        out.end = StreamEnd::kFailed;
        out.error = Status::Unavailable(
            fmt::format("vigild on {} sent nothing for {} s, not even a keep-alive", path_,
                        request.silence_limit->count() / 1000));
        return out;
      }
      continue;
    }
    last_byte = std::chrono::steady_clock::now();
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    boost::system::error_code ec;
    http::read_some(socket, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    const bool closed = ec == http::error::end_of_stream || ec == asio::error::eof ||
                        (!ec && parser.is_done());
    if (ec || closed) {
      out.end = StreamEnd::kFailed;
      out.error = Status::Unavailable(
          closed ? fmt::format("vigild on {} closed the event stream", path_)
                 : fmt::format("event stream from {}: {}", path_, ec.message()));
      return out;
    }
    const std::size_t got = chunk.size() - parser.get().body().size;
    sse.Feed(std::string_view(chunk.data(), got), [&](const SseEvent& e) {
      if (!stop && !handlers.on_event(e)) stop = true;
    });
    out.last_event_id = sse.last_event_id();
  }
  return out;
}

}  // namespace vigil
