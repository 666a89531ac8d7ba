// The one JSON writer of vigild and vigilctl: what the API serves, what vigilctl prints
// and the state file all read the same (docs/api.md, "Numbers").
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace vigil {

// Serializes like boost::json::serialize, but writes doubles in their shortest plain form
// ("0.117", "8") instead of Boost 1.81's exponent form ("1.17E-1", "8E0"), which is valid
// JSON but hard on the humans reading curl output; infinities and NaN become null (JSON has
// none). Never throws except std::bad_alloc; thread-safe (no shared state).
std::string ToJsonText(const boost::json::value& value);

}  // namespace vigil
