// Values as people write them (base/value_text.h): the same parse and message in vigil.yaml,
// --detector specs and flags.
#include "base/value_text.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ValueText, NumbersAreDecimalWithOptionalPlus) {
  EXPECT_EQ(*ParseNumberIn("8", 0, 1000, false), 8);
  EXPECT_EQ(*ParseNumberIn("+0.25", 0, 1000, false), 0.25);
  EXPECT_EQ(*ParseNumberIn("1e-3", 0, 1000, false), 0.001);
  for (const char* bad : {"high", "", "+-8", "nan", "8 ", "0x10"}) {
    const auto r = ParseNumberIn(bad, 0, 1000, false);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.message(), std::string("expected a number, found '") + bad + "'");
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
  EXPECT_EQ(ParseNumberIn("0", 0, 1000, false).message(),
            "expected a number > 0 and <= 1000, found 0");
  EXPECT_EQ(ParseNumberIn("inf", 1, 100, true).message(),
            "expected a number >= 1 and <= 100, found inf");
}

TEST(ValueText, WholeNumbersRefuseLeadingZerosRatherThanGuessOctal) {
  EXPECT_EQ(*ParseWholeIn("100000", 2, 100000), 100000);
  EXPECT_EQ(*ParseWholeIn("+7", 2, 100000), 7);
  EXPECT_EQ(*ParseWholeIn("0", 0, 10), 0);
  EXPECT_EQ(ParseWholeIn("010", 2, 100000).message(),
            "expected a whole number without leading zeros, found '010'");
  EXPECT_EQ(ParseWholeIn("0x10", 2, 100000).message(), "expected a whole number, found '0x10'");
  EXPECT_EQ(ParseWholeIn("1.5", 2, 100000).message(), "expected a whole number, found '1.5'");
  EXPECT_EQ(ParseWholeIn("1", 2, 100000).message(),
            "expected a whole number from 2 to 100000, found 1");
}

TEST(ValueText, DurationsNeedAUnitAndStayInRange) {
  EXPECT_EQ(*ParseDurationIn("250ms", false), milliseconds(250));
  EXPECT_EQ(*ParseDurationIn("0s", true), Duration::zero());
  EXPECT_EQ(ParseDurationIn("5", false).message(),
            "expected a duration such as 250ms, 1.5s or 2m, found '5' (a duration needs a unit)");
  EXPECT_EQ(ParseDurationIn("2d", false).message(),
            "expected a duration such as 250ms, 1.5s or 2m, found '2d'");
  EXPECT_EQ(ParseDurationIn("0s", false).message(), "expected a positive duration, found '0s'");
  EXPECT_EQ(ParseDurationIn("25h", false, seconds(1), hours(24)).message(),
            "expected a duration from 1s to 24h, found 25h");
}

}  // namespace
}  // namespace vigil
