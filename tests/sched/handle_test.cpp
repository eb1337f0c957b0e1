#include <bpfq/sched/handle.hpp>

#include <gtest/gtest.h>

#include <bpfq/error.hpp>

namespace bpfq::sched {
namespace {

TEST(Handle, ParsesTcSyntax) {
  EXPECT_EQ(Handle::parse("1:10").value, 0x00010010u);
  EXPECT_EQ(Handle::parse("1:").value, 0x00010000u);
  EXPECT_EQ(Handle::parse(":a").value, 0x0000000Au);
  EXPECT_EQ(Handle::parse("ffff:FFFF").value, 0xFFFFFFFFu);
  EXPECT_EQ(Handle::parse("8000:").value, 0x80000000u);
  EXPECT_EQ(Handle::parse("root").value, 0xFFFFFFFFu);
  EXPECT_EQ(Handle::parse("none").value, 0u);
  EXPECT_EQ(Handle::parse("ingress").value, 0xFFFFFFF1u);
  const Handle h = Handle::parse("2a:3");
  EXPECT_EQ(h.major(), 0x2A);
  EXPECT_EQ(h.minor(), 3);
  EXPECT_EQ(Handle::make(1, 0x10), Handle(0x10010));
}

TEST(Handle, PrintsAsTcDoes) {
  EXPECT_EQ(Handle(0x00010010).to_string(), "1:10");
  EXPECT_EQ(Handle(0x00010000).to_string(), "1:");
  EXPECT_EQ(Handle(0x0000000A).to_string(), ":a");
  EXPECT_EQ(Handle(0xABCD0123).to_string(), "abcd:123");
  EXPECT_EQ(Handle::root().to_string(), "root");
  EXPECT_EQ(Handle().to_string(), "none");
  EXPECT_EQ(Handle(Handle::kIngress).to_string(), "ingress");
  for (const char* text : {"1:10", "1:", ":a", "ffff:fffe", "root", "none"})
    EXPECT_EQ(Handle::parse(text).to_string(), text);
}

TEST(Handle, RejectsBadText) {
  for (const char* text : {"", "1", "10000:1", "1:10000", "x:1", "1:g", "1:2:3", "-1:2", " 1:2"}) {
    try {
      Handle::parse(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.reason(), std::string("invalid handle '") + text + "'");
      EXPECT_EQ(e.where(), "tc handle");
      EXPECT_FALSE(e.hint().empty());
    }
  }
}

}  // namespace
}  // namespace bpfq::sched
