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

// Connects with send/receive timeouts so a wedged daemon cannot hang the CLI. The connect
// is done by hand to keep errno: it is what tells permission, "not a socket" and "no
// daemon" apart (connect_error.h).
bool Connect(stream_protocol::socket& socket, const std::string& path,
             std::chrono::milliseconds timeout, ApiError* error) {
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
    error->message = DescribeConnectError(path, err, facts);
    error->transient = ConnectErrorIsTransient(err, facts);
    return false;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  socket.assign(stream_protocol(), fd);
  return true;
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

std::optional<HttpResult> ApiClient::Get(const std::string& target, ApiError* error) const {
  asio::io_context io;
  stream_protocol::socket socket(io);
  if (!Connect(socket, path_, timeout_, error)) return std::nullopt;
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
    error->message = fmt::format("talking to vigild on {}: {}", path_, ec.message());
    error->transient = true;
    return std::nullopt;
  }
  HttpResult r;
  r.status = static_cast<int>(res.result_int());
  r.content_type = std::string(res[http::field::content_type]);
  r.body = std::move(res.body());
  return r;
}

std::optional<HttpResult> ApiClient::Get(const std::string& target, std::string* error) const {
  ApiError e;
  auto r = Get(target, &e);
  if (!r) *error = e.message;
  return r;
}

namespace {

using Parser = http::response_parser<http::buffer_body>;

// Sends the request and reads the response head; true when vigild answered 200.
bool OpenStream(stream_protocol::socket& socket, beast::flat_buffer& buffer, Parser& parser,
                const StreamRequest& request, const std::string& path, ApiError* error) {
  http::request<http::empty_body> req{http::verb::get, "/v1/events", 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "vigilctl");
  req.set(http::field::accept, "text/event-stream");
  if (request.last_event_id) req.set("Last-Event-ID", *request.last_event_id);
  boost::system::error_code ec;
  http::write(socket, req, ec);
  parser.body_limit(boost::none);
  if (!ec) http::read_header(socket, buffer, parser, ec);
  if (ec) {
    error->message = fmt::format("talking to vigild on {}: {}", path, ec.message());
    error->transient = true;  // e.g. it stopped between accepting and answering
    return false;
  }
  const unsigned status = parser.get().result_int();
  if (status == 200) return true;
  // The head is all we read; an error body is short and follows at once.
  std::string body;
  std::array<char, 512> chunk{};
  parser.get().body().data = chunk.data();
  parser.get().body().size = chunk.size();
  http::read_some(socket, buffer, parser, ec);
  body.assign(chunk.data(), chunk.size() - parser.get().body().size);
  error->message = StatusMessage(status, body) + " to /v1/events";
  error->transient = status == 503;  // api.max_connections: a slot may free up
  return false;
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
  if (!Connect(socket, path_, timeout_, &out.error) ||
      !OpenStream(socket, buffer, parser, request, path_, &out.error)) {
    return out;
  }
  out.opened = true;
  out.end = StreamEnd::kStopped;
  if (handlers.on_open && !handlers.on_open()) return out;
  SseParser sse;
  bool stop = false;
  std::array<char, 4096> chunk{};
  auto last_byte = std::chrono::steady_clock::now();
  while (!stop) {
    if (request.cancel && request.cancel->load()) {
      out.end = StreamEnd::kCancelled;
      return out;
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
        out.error = {fmt::format("vigild on {} sent nothing for {} s, not even a keep-alive",
                                 path_, request.silence_limit->count() / 1000),
                     true};
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
      out.error = {closed ? fmt::format("vigild on {} closed the event stream", path_)
                          : fmt::format("event stream from {}: {}", path_, ec.message()),
                   true};
      return out;
    }
    const std::size_t got = chunk.size() - parser.get().body().size;
    sse.Feed(std::string_view(chunk.data(), got), [&](const SseEvent& e) {
      if (!stop && !handlers.on_event(e)) stop = true;
    });
  }
  return out;
}

bool ApiClient::StreamEvents(std::optional<std::string> last_event_id,
                             const std::function<bool()>& on_open,
                             const std::function<bool(const SseEvent&)>& on_event,
                             std::optional<std::chrono::steady_clock::time_point> deadline,
                             bool* timed_out, std::string* error,
                             const std::atomic<bool>* cancel) const {
  StreamRequest request;
  request.last_event_id = std::move(last_event_id);
  request.deadline = deadline;
  request.cancel = cancel;
  const StreamOutcome out = Stream(request, {on_open, on_event});
  *timed_out = out.end == StreamEnd::kTimedOut;
  if (out.end != StreamEnd::kFailed) return true;
  *error = out.error.message;
  return false;
}

}  // namespace vigil
