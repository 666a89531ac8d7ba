// The one JSON writer (json/json_text.h), moved here from api_router_test.cc.
#include "json/json_text.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <limits>

namespace vigil {
namespace {

namespace json = boost::json;

TEST(ToJsonText, WritesPlainNumbers) {
  json::object o;
  o["a"] = 0.117;
  o["b"] = 8.0;
  o["c"] = std::numeric_limits<double>::infinity();
  o["d"] = json::array{1, "x\"y", nullptr};
  EXPECT_EQ(ToJsonText(o), R"({"a":0.117,"b":8,"c":null,"d":[1,"x\"y",null]})");
}

TEST(ToJsonText, RoundTripsThroughAParser) {
  json::object o;
  o["tiny"] = 1.5e-9;
  o["huge"] = 3.0e300;
  o["neg"] = -0.25;
  o["s"] = "line\nbreak \u00e9";
  o["nested"] = json::object{{"k", json::array{true, false}}};
  const json::value back = json::parse(ToJsonText(o));
  EXPECT_EQ(back, json::value(o));
}

}  // namespace
}  // namespace vigil
