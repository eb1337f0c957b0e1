// fw (cls_fw) and u32's `match mark`: classification by skb->mark, and parse errors that name
// the token.
#include <gtest/gtest.h>

#include <bpfq/error.hpp>
#include <bpfq/sched/fw_filter.hpp>
#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/u32_filter.hpp>

namespace bpfq::sched::test {
namespace {

constexpr uint32_t k1_1 = 0x10001, k1_10 = 0x10010, k1_20 = 0x10020;

class MarkFilters : public ::testing::Test {
 protected:
  PacketPool pool{PacketPoolConfig{.packets = 8}};
  PacketRef pkt = PacketRef::alloc(pool);

  MarkFilters() { EXPECT_TRUE(build_into(*pkt, FrameSpec{})); }

  // The class id f gives a packet with this mark, 0 for no match.
  uint32_t class_for_mark(Filter& f, uint32_t mark) {
    pkt->skb.mark = mark;
    uint32_t classid = 0;
    const int action = f.classify(*pkt, classid);
    EXPECT_TRUE(action == kTcActUnspec || action == kTcActOk) << action;
    return action == kTcActOk ? classid : 0;
  }
};

template <class F>
std::string parse_error(const std::vector<std::string>& tokens) {
  try {
    F::parse(tokens);
  } catch (const Error& e) {
    return e.what();
  }
  return "(parsed)";
}

TEST_F(MarkFilters, FwHandleMatchesTheWholeMark) {
  auto f = FwFilter::parse({"handle", "6", "classid", "1:10"});
  EXPECT_EQ(f->kind(), "fw");
  EXPECT_FALSE(f->mark_is_classid());
  EXPECT_EQ(f->mark_value(), 6u);
  EXPECT_EQ(f->mask(), 0xFFFFFFFFu);
  EXPECT_EQ(class_for_mark(*f, 6), k1_10);
  EXPECT_EQ(class_for_mark(*f, 7), 0u);
  EXPECT_EQ(class_for_mark(*f, 0x10006), 0u);  // no mask: every bit counts
  EXPECT_EQ(class_for_mark(*f, 0), 0u);
}

TEST_F(MarkFilters, FwHandleWithAMask) {
  // handle 0x10/0xf0: any mark whose bits 4..7 are 0x1, whatever else is set.
  auto f = FwFilter::parse({"classid", "1:20", "handle", "0x10/0xf0"});  // any order, as tc
  EXPECT_EQ(f->mask(), 0xF0u);
  EXPECT_EQ(class_for_mark(*f, 0x10), k1_20);
  EXPECT_EQ(class_for_mark(*f, 0x1F), k1_20);
  EXPECT_EQ(class_for_mark(*f, 0xABC1F), k1_20);
  EXPECT_EQ(class_for_mark(*f, 0x20), 0u);
  auto flowid = FwFilter::parse({"handle", "1", "flowid", "1:1"});
  EXPECT_EQ(class_for_mark(*flowid, 1), k1_1);
}

TEST_F(MarkFilters, FwWithoutOptionsUsesTheMarkAsTheClassid) {
  // Linux's "old method": the mark is the class id when its major is 0 or the qdisc's.
  auto f = FwFilter::parse({}, Handle::make(1, 0));
  EXPECT_TRUE(f->mark_is_classid());
  EXPECT_EQ(class_for_mark(*f, k1_10), k1_10);
  EXPECT_EQ(class_for_mark(*f, 0x5), 0x5u);  // major 0: the class id as it is
  EXPECT_EQ(class_for_mark(*f, 0x20005), 0u);  // another qdisc's major: no match
  EXPECT_EQ(class_for_mark(*f, 0), 0u);        // no mark, no class
  // Attached to a class, the major is the class's qdisc's.
  auto on_class = FwFilter::parse({}, Handle::make(2, 7));
  EXPECT_EQ(class_for_mark(*on_class, 0x20005), 0x20005u);
  EXPECT_EQ(class_for_mark(*on_class, k1_10), 0u);
  // Without a parent any major is taken.
  auto anywhere = FwFilter::parse({});
  EXPECT_EQ(class_for_mark(*anywhere, 0x20005), 0x20005u);
  EXPECT_EQ(class_for_mark(*anywhere, 0), 0u);
}

TEST(FwParse, ErrorsNameTheTokenAndWhatWasExpected) {
  EXPECT_EQ(parse_error<FwFilter>({"handle", "6"}),
            "fw filter: no class id for handle 6 (hint: add `classid MAJOR:MINOR` (or `flowid`), e.g. classid 1:10)");
  EXPECT_EQ(parse_error<FwFilter>({"classid", "1:10"}),
            "fw filter: a class id needs a handle (hint: add `handle MARK[/MASK]`, or give no options to use the mark itself as the class id)");
  EXPECT_EQ(parse_error<FwFilter>({"handle", "0x1g", "classid", "1:1"}),
            "fw filter: bad handle `0x1g` (hint: expected MARK or MARK/MASK, 32-bit numbers (decimal or 0x hex), e.g. 0x10/0xff)");
  EXPECT_EQ(parse_error<FwFilter>({"handle", "5/", "classid", "1:1"}),
            "fw filter: bad handle `5/` (hint: expected MARK or MARK/MASK, 32-bit numbers (decimal or 0x hex), e.g. 0x10/0xff)");
  EXPECT_EQ(parse_error<FwFilter>({"handle", "0x100000000", "classid", "1:1"}),
            "fw filter: bad handle `0x100000000` (hint: expected MARK or MARK/MASK, 32-bit numbers (decimal or 0x hex), e.g. 0x10/0xff)");
  EXPECT_EQ(parse_error<FwFilter>({"handle", "0", "classid", "1:1"}),
            "fw filter: bad handle `0` (hint: a fw handle is a non-zero mark)");
  EXPECT_EQ(parse_error<FwFilter>({"handle", "0x13/0xf", "classid", "1:1"}),
            "fw filter: bad handle `0x13/0xf`: the mark has bits outside the mask (hint: no packet could match it; widen the mask or drop those bits)");
  EXPECT_EQ(parse_error<FwFilter>({"handle", "1", "classid", "one"}),
            "fw filter: bad class id `one` after `classid` (hint: expected MAJOR:MINOR in hex, e.g. 1:10)");
  EXPECT_EQ(parse_error<FwFilter>({"handle"}), "fw filter: missing a mark after `handle` (hint: expected a mark)");
  EXPECT_EQ(parse_error<FwFilter>({"handle", "1", "classid", "1:1", "indev", "eth0"}),
            "fw filter: unexpected `indev` (hint: expected `handle` or `classid` (`flowid`))");
}

TEST_F(MarkFilters, U32MatchMarkAloneMatchesAnyProtocol) {
  auto f = U32Filter::parse({"match", "mark", "0x90", "0xff", "classid", "1:10"});
  ASSERT_TRUE(f->mark().has_value());
  EXPECT_EQ(f->mark()->value, 0x90u);
  EXPECT_EQ(f->mark()->mask, 0xFFu);
  EXPECT_TRUE(f->matches().empty());
  EXPECT_EQ(class_for_mark(*f, 0x90), k1_10);
  EXPECT_EQ(class_for_mark(*f, 0x1290), k1_10);  // bits outside the mask do not matter
  EXPECT_EQ(class_for_mark(*f, 0x91), 0u);
  // Any protocol: an IPv6 frame matches on its mark alone.
  FrameSpec v6;
  v6.ipv6 = true;
  v6.src_ip = ipv6_address("2001:db8::1");
  v6.dst_ip = ipv6_address("2001:db8::2");
  ASSERT_TRUE(build_into(*pkt, v6));
  EXPECT_EQ(class_for_mark(*f, 0x90), k1_10);
}

TEST_F(MarkFilters, U32MatchMarkIsAndedWithTheOtherMatches) {
  auto f = U32Filter::parse({"match", "ip", "dport", "2000", "0xffff", "match", "mark", "1", "0x1", "classid", "1:1"});
  EXPECT_EQ(f->matches().size(), 1u);
  EXPECT_EQ(class_for_mark(*f, 1), k1_1);  // FrameSpec's default dport is 2000
  EXPECT_EQ(class_for_mark(*f, 3), k1_1);
  EXPECT_EQ(class_for_mark(*f, 2), 0u);  // the mark fails
  FrameSpec other;
  other.dport = 2001;
  ASSERT_TRUE(build_into(*pkt, other));
  EXPECT_EQ(class_for_mark(*f, 1), 0u);  // the port fails
}

TEST(U32MarkParse, ErrorsNameTheToken) {
  EXPECT_EQ(parse_error<U32Filter>({"match", "mark", "0x3", "0x1", "classid", "1:1"}),
            "u32 filter: bad value for mark `0x3`: bits outside the mask (hint: no packet could match it; widen the mask or drop those bits)");
  EXPECT_EQ(parse_error<U32Filter>({"match", "mark", "0x1", "classid", "1:1"}),
            "u32 filter: bad mask for mark `classid` (hint: expected a number from 0 to 4294967295 (decimal or 0x hex))");
  EXPECT_EQ(parse_error<U32Filter>({"match", "mark", "-1", "0xff", "classid", "1:1"}),
            "u32 filter: bad value for mark `-1` (hint: expected a number from 0 to 4294967295 (decimal or 0x hex))");
  EXPECT_EQ(parse_error<U32Filter>({"match", "mark", "1", "1", "match", "mark", "2", "2", "classid", "1:1"}),
            "u32 filter: a second `match mark` (hint: u32 takes one mark match; combine them into one VALUE MASK)");
  EXPECT_EQ(parse_error<U32Filter>({"match", "mark", "1"}), "u32 filter: missing a mask after `1` (hint: expected a mask)");
  EXPECT_EQ(parse_error<U32Filter>({"match", "mark", "1", "1"}),
            "u32 filter: no class id (hint: add `classid MAJOR:MINOR` (or `flowid`), e.g. classid 1:10)");
}

}  // namespace
}  // namespace bpfq::sched::test
