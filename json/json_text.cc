#include "json/json_text.h"

#include <cmath>
#include <iterator>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace vigil {

namespace json = boost::json;

namespace {

void Append(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string_view(kv.key()));
        out += ':';
        Append(kv.value(), out);
      }
      out += '}';
      break;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        Append(e, out);
      }
      out += ']';
      break;
    }
    case json::kind::double_: {
      const double d = v.get_double();
      if (std::isfinite(d)) {
        fmt::format_to(std::back_inserter(out), "{}", d);
      } else {
        out += "null";  // JSON has no infinity or NaN
      }
      break;
    }
    default:
      out += json::serialize(v);
  }
}

}  // namespace

std::string ToJsonText(const json::value& value) {
  std::string out;
  Append(value, out);
  return out;
}

}  // namespace vigil
