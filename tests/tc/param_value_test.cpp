// tc's units for program parameters: exact values and the errors that name the token.
#include <gtest/gtest.h>

#include <bpfq/error.hpp>

#include <bpfq/tc/param_value.hpp>
#include "support/error_of.hpp"

namespace bpfq::tc {
namespace {

ParamValue parse(const std::string& token) { return parse_param_value(token, "test"); }

std::string error_text(const std::string& token) { return bpfq::test::error_of([&] { parse(token); }).what(); }

void expect_error_starts(const std::string& token, const std::string& prefix) {
  EXPECT_EQ(error_text(token).substr(0, prefix.size()), prefix);
}

TEST(ParamValue, IntegersStayIntegers) {
  EXPECT_EQ(parse("100").value, 100u);
  EXPECT_EQ(parse("100").kind, ValueKind::Integer);
  EXPECT_EQ(parse("0x1f").value, 31u);
  EXPECT_EQ(parse("18446744073709551615").value, UINT64_MAX);
}

TEST(ParamValue, TimesAreNanoseconds) {
  EXPECT_EQ(parse("5ns").value, 5u);
  EXPECT_EQ(parse("5us").value, 5'000u);
  EXPECT_EQ(parse("250usec").value, 250'000u);
  EXPECT_EQ(parse("10ms").value, 10'000'000u);
  EXPECT_EQ(parse("2msec").value, 2'000'000u);
  EXPECT_EQ(parse("1s").value, 1'000'000'000u);
  EXPECT_EQ(parse("1sec").value, 1'000'000'000u);
  EXPECT_EQ(parse("1.5ms").value, 1'500'000u);
  EXPECT_EQ(parse("10ms").kind, ValueKind::Time);
}

TEST(ParamValue, RatesAreBytesPerSecond) {
  EXPECT_EQ(parse("10mbit").value, 1'250'000u);  // tc's 10mbit
  EXPECT_EQ(parse("10Mbit").value, 1'250'000u);  // tc compares units case-insensitively
  EXPECT_EQ(parse("1gbit").value, 125'000'000u);
  EXPECT_EQ(parse("500kbit").value, 62'500u);
  EXPECT_EQ(parse("1tbit").value, 125'000'000'000u);
  EXPECT_EQ(parse("12bit").value, 1u);  // rounds down
  EXPECT_EQ(parse("1mibit").value, 131'072u);
  EXPECT_EQ(parse("1.5mbit").value, 187'500u);
  EXPECT_EQ(parse("1mbps").value, 1'000'000u);
  EXPECT_EQ(parse("3kbps").value, 3'000u);
  EXPECT_EQ(parse("7bps").value, 7u);
  EXPECT_EQ(parse("1gbit").kind, ValueKind::Rate);
}

TEST(ParamValue, SizesAre1024Based) {
  EXPECT_EQ(parse("1514b").value, 1514u);
  EXPECT_EQ(parse("64k").value, 65'536u);
  EXPECT_EQ(parse("64kb").value, 65'536u);
  EXPECT_EQ(parse("1m").value, 1'048'576u);
  EXPECT_EQ(parse("1mb").value, 1'048'576u);
  EXPECT_EQ(parse("2gb").value, 2'147'483'648u);
  EXPECT_EQ(parse("1g").kind, ValueKind::Size);
}

TEST(ParamValue, PercentagesAreU32ProbabilitiesRoundedAsNetem) {
  EXPECT_EQ(parse("100%").value, 0xffffffffu);
  EXPECT_EQ(parse("0%").value, 0u);
  EXPECT_EQ(parse("1%").value, 42'949'673u);    // rint(0.01 * 0xffffffff)
  EXPECT_EQ(parse("50%").value, 2'147'483'648u);  // 2147483647.5 rounds up
  EXPECT_EQ(parse("0.5%").value, 21'474'836u);
  EXPECT_EQ(parse("1%").kind, ValueKind::Percent);
}

TEST(ParamValue, ErrorsNameTheTokenAndTheForms) {
  EXPECT_EQ(error_text("10parsecs"),
            "test: bad value '10parsecs' (unknown unit 'parsecs'): expected an integer (100, 0x1f), a time (10ms, "
            "5us, 1s), a rate (10mbit, 1gbit, 1mbps), a size (1514b, 64kb, 1mb) or a percentage (1%)");
  expect_error_starts("101%", "test: bad value '101%' (a percentage is at most 100%): ex");
  expect_error_starts("1.5", "test: bad value '1.5' (an integer has no fraction; add a unit): expe");
  expect_error_starts("99999999999999999999", "test: bad value '99999999999999999999' (too large)");
  expect_error_starts("99999999999tbit", "test: bad value '99999999999tbit' (too large)");
  expect_error_starts(".ms", "test: bad value '.ms': ");
}

TEST(ParamValue, OnlyDigitsStartAValue) {
  EXPECT_TRUE(looks_like_value("10ms"));
  EXPECT_TRUE(looks_like_value(".5ms"));
  EXPECT_FALSE(looks_like_value("ecn"));
  EXPECT_FALSE(looks_like_value(""));
}

}  // namespace
}  // namespace bpfq::tc
