// The simulator's frames read back from their bytes: flow, TCP fields and SACK blocks.
#include <gtest/gtest.h>

#include <vector>

#include "../../src/io/sim/sim_frame.hpp"

namespace bpfq::io::sim::test {
namespace {

TEST(SimFrame, AckWithSackBlocksReadsBackEveryBlockInOrder) {
  sched::FrameSpec spec = frame_spec(7, false, sched::L4::Tcp);
  spec.tcp_ack = 1000;
  spec.tcp_flags = kTcpAck | kTcpEce;
  spec.tcp_sack[0] = {5000, 6448};
  spec.tcp_sack[1] = {2448, 3896};
  spec.tcp_sack[2] = {0xFFFFF000, 0x00000010};
  spec.tcp_sack_count = 3;
  std::vector<uint8_t> frame = sched::build_frame(spec);
  FrameInfo info = read_frame(frame);
  ASSERT_TRUE(info.valid);
  EXPECT_FALSE(info.forward);
  EXPECT_EQ(info.flow, 7u);
  EXPECT_EQ(info.proto, kIpProtoTcp);
  EXPECT_EQ(info.ack, 1000u);
  EXPECT_EQ(info.flags, kTcpAck | kTcpEce);
  EXPECT_EQ(info.payload_len, 0u);  // the options are header, not payload
  ASSERT_EQ(info.sack_count, 3);
  EXPECT_EQ(info.sack[0], (sched::TcpSackBlock{5000, 6448}));
  EXPECT_EQ(info.sack[1], (sched::TcpSackBlock{2448, 3896}));
  EXPECT_EQ(info.sack[2], (sched::TcpSackBlock{0xFFFFF000, 0x00000010}));
}

TEST(SimFrame, SegmentWithoutOptionsHasNoSackBlocks) {
  sched::FrameSpec spec = frame_spec(3, true, sched::L4::Tcp);
  spec.tcp_seq = 77;
  spec.payload_len = 1460;
  FrameInfo info = read_frame(sched::build_frame(spec));
  ASSERT_TRUE(info.valid);
  EXPECT_TRUE(info.forward);
  EXPECT_EQ(info.seq, 77u);
  EXPECT_EQ(info.payload_len, 1460u);
  EXPECT_EQ(info.sack_count, 0);
}

TEST(SimFrame, MalformedOptionsAreIgnoredAndTheSegmentStillReads) {
  sched::FrameSpec spec = frame_spec(1, false, sched::L4::Tcp);
  spec.tcp_sack[0] = {10, 20};
  spec.tcp_sack_count = 1;
  std::vector<uint8_t> frame = sched::build_frame(spec);
  // The SACK option's length says 9: within the header but not 2 + 8n, so no blocks.
  const size_t options = 14 + 20 + 20;
  ASSERT_EQ(frame[options + 2], 5);
  frame[options + 3] = 9;
  FrameInfo info = read_frame(frame);
  ASSERT_TRUE(info.valid);
  EXPECT_EQ(info.sack_count, 0);
  // A length running past the header ends the option list; the rest of the frame still reads.
  frame[options + 3] = 200;
  info = read_frame(frame);
  ASSERT_TRUE(info.valid);
  EXPECT_EQ(info.sack_count, 0);
  EXPECT_EQ(info.payload_len, 0u);
}

}  // namespace
}  // namespace bpfq::io::sim::test
