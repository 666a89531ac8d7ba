// libFuzzer target: any bytes as an HTTP request on the API socket: parsed with the same
// Beast parser limits the server uses, then routed against a Node.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/api_router.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static vigil::Config config = *vigil::LoadConfigString(
      "node:\n  id: me\npeers:\n  - id: n2\n    address: 10.0.0.2\n", "fuzz.yaml").config;
  static vigil::Node node(config, {vigil::MonoTime{}, vigil::WallTime{}});
  static vigil::DaemonCounters counters;
  static vigil::SelfInfo self;
  http::request_parser<http::string_body> parser;
  parser.header_limit(8 * 1024);  // as ApiServerOptions
  parser.body_limit(16 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  const auto& req = parser.get();
  std::optional<std::string_view> last_event_id;
  if (auto it = req.find("Last-Event-ID"); it != req.end()) {
    last_event_id = std::string_view(it->value().data(), it->value().size());
  }
  const auto r = vigil::Route(std::string_view(req.method_string().data(), req.method_string().size()),
                              std::string_view(req.target().data(), req.target().size()),
                              last_event_id,
                              vigil::ApiContext{node, counters, self, {vigil::MonoTime{}, vigil::WallTime{}}});
  if (r.status < 200 || r.status > 599) __builtin_trap();
  if (r.next_piece) {  // a streamed body (GET /v1/peers): written out whole, in pieces
    std::string body;
    int pieces = 0;
    while (!r.next_piece(body)) {
      if (++pieces > 1'000'000) __builtin_trap();  // a writer that never finishes
    }
  }
  if (r.sse_more) {  // the rest of a resuming event client's preamble, in small pieces
    std::string preamble;
    int pieces = 0;
    while (!r.sse_more(preamble, 64)) {
      if (++pieces > 1'000'000) __builtin_trap();
    }
  }
  return 0;
}
