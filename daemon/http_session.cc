#include "daemon/http_session.h"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

#include <fmt/format.h>

namespace vigil {

namespace http = boost::beast::http;

HttpResponse ToHttpResponse(const ApiResponse& r, unsigned version, bool keep_alive) {
  HttpResponse res{static_cast<http::status>(r.status), version};
  SetCommonFields(res, r);
  res.keep_alive(keep_alive);
  res.body() = r.body;
  if (r.next_piece) {
    while (!r.next_piece(res.body())) {
    }
  }
  res.prepare_payload();
  return res;
}

bool ClientWentAway(const boost::system::error_code& ec) {
  namespace asio = boost::asio;
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
         ec == boost::beast::error::timeout;
}

std::string BusyResponse(std::string_view setting) {
  const std::string body = ErrorResponse(503, fmt::format("too many connections ({})", setting)).body;
  return fmt::format("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Connection: close\r\nContent-Length: {}\r\n\r\n{}",
                     body.size(), body);
}

}  // namespace vigil
