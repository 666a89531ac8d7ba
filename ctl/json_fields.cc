#include "ctl/json_fields.h"

#include <chrono>

#include <fmt/format.h>

#include "ctl/format.h"

namespace vigil {

std::string Str(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return "-";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_double()) return fmt::format("{:.2f}", v->as_double());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  if (v->is_bool()) return v->as_bool() ? "true" : "false";
  return "-";
}

std::int64_t Int(const boost::json::object& o, const char* key, std::int64_t fallback) {
  const auto* v = o.if_contains(key);
  if (!v) return fallback;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return fallback;
}

std::string AgoFromNow(std::int64_t epoch_ms) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return FormatAgo(now - epoch_ms);
}

}  // namespace vigil
