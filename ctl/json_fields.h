// Lenient reads of vigild's JSON for display: a missing or odd field shows as "-" (or a
// fallback) instead of failing the whole command.
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/object.hpp>

namespace vigil {

// A field as text: strings as they are, numbers formatted, null or missing as "-".
std::string Str(const boost::json::object& o, const char* key);

// An integer field, or `fallback` when it is missing or not an integer.
std::int64_t Int(const boost::json::object& o, const char* key, std::int64_t fallback = -1);

// How long ago `epoch_ms` was, from the wall clock now ("3s ago").
std::string AgoFromNow(std::int64_t epoch_ms);

}  // namespace vigil
