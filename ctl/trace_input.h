// What vigilctl replay and vigilctl tune share: loading a trace with its heartbeat
// interval, and showing QoS figures as text and JSON.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "base/time.h"
#include "quality/replay.h"
#include "quality/trace.h"

namespace vigil {

struct LoadedTrace {
  Trace trace;
  Duration interval{};
  bool inferred = false;  // the interval was inferred, not given
};

// Loads `path` (two heartbeats at least) and takes `interval` or infers it. On failure
// writes "vigilctl CMD: ..." to `err` and returns nullopt.
std::optional<LoadedTrace> LoadTraceForCommand(const std::string& path,
                                               std::optional<Duration> interval,
                                               std::ostream& err, const char* cmd);

// JSON has no infinity: "never" is null. Rounded to 3 decimals.
boost::json::value JsonNumber(double x);
boost::json::object QosJson(const QosFigures& q);

// "326 ms", "12.5 s", "never".
std::string FormatMs(double ms);

}  // namespace vigil
