// Devices, tc filters (u32, cls_bpf) and bpf_skb_tc_classify, with real frames and real
// clang-built programs: a BpfQdisc classifying through the device's filters, a clsact egress
// program sharing a map with the qdisc, and device down releasing every packet.
#include <gtest/gtest.h>

#include <bpfq/error.hpp>
#include <bpfq/sched/bpf_filter.hpp>
#include <bpfq/sched/device.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/u32_filter.hpp>

#include "engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint32_t k1_1 = 0x10001, k1_2 = 0x10002, k1_5 = 0x10005, k1_10 = 0x10010;

struct Frames {
  PacketPool pool{PacketPoolConfig{.packets = 64}};

  PacketRef frame(const FrameSpec& spec, uint32_t mark = 0) {
    PacketRef p = PacketRef::alloc(pool);
    EXPECT_TRUE(build_into(*p, spec));
    p->skb.mark = mark;
    return p;
  }
  PacketRef tcp(uint16_t dport, const char* src = "10.0.0.1", uint32_t mark = 0) {
    FrameSpec s;
    s.l4 = L4::Tcp;
    s.dport = dport;
    s.src_ip = ipv4_address(src);
    return frame(s, mark);
  }
  PacketRef udp(uint16_t dport, uint32_t mark = 0) {
    FrameSpec s;
    s.dport = dport;
    return frame(s, mark);
  }
};

// Classifies pkt with f: the class id on a match, 0 on no match (-1 from classify).
uint32_t class_of(Filter& f, Packet& pkt) {
  uint32_t classid = 0;
  const int action = f.classify(pkt, classid);
  EXPECT_TRUE(action == kTcActUnspec || action == kTcActOk) << action;
  return action == kTcActOk ? classid : 0;
}

std::string parse_error(const std::vector<std::string>& tokens) {
  try {
    U32Filter::parse(tokens);
  } catch (const Error& e) {
    return e.what();
  }
  return "(parsed)";
}

// ---- u32 ----

class U32 : public ::testing::Test, public Frames {};

TEST_F(U32, DportMatchesWithItsMask) {
  auto ssh = U32Filter::parse({"match", "ip", "dport", "22", "0xffff", "classid", "1:10"});
  EXPECT_EQ(ssh->classid(), k1_10);
  EXPECT_EQ(class_of(*ssh, *tcp(22)), k1_10);
  EXPECT_EQ(class_of(*ssh, *udp(22)), k1_10);  // u32 ports do not look at the protocol
  EXPECT_EQ(class_of(*ssh, *tcp(23)), 0u);
  EXPECT_EQ(class_of(*ssh, *tcp(22 + 0x100)), 0u);
  // A mask of 0xff00 matches every port 0x1600..0x16ff.
  auto high = U32Filter::parse({"match", "ip", "dport", "0x1600", "0xff00", "flowid", "1:2"});
  EXPECT_EQ(class_of(*high, *tcp(0x1634)), k1_2);
  EXPECT_EQ(class_of(*high, *tcp(0x1734)), 0u);
  auto sport = U32Filter::parse({"match", "ip", "sport", "1000", "0xffff", "classid", "1:1"});
  EXPECT_EQ(class_of(*sport, *tcp(80)), k1_1);  // FrameSpec's default sport is 1000
}

TEST_F(U32, SourcePrefixes) {
  auto ten = U32Filter::parse({"match", "ip", "src", "10.0.0.0/8", "classid", "1:2"});
  EXPECT_EQ(class_of(*ten, *tcp(80, "10.1.2.3")), k1_2);
  EXPECT_EQ(class_of(*ten, *tcp(80, "11.0.0.1")), 0u);
  auto host = U32Filter::parse({"match", "ip", "src", "192.168.1.7", "classid", "1:1"});
  EXPECT_EQ(class_of(*host, *tcp(80, "192.168.1.7")), k1_1);
  EXPECT_EQ(class_of(*host, *tcp(80, "192.168.1.8")), 0u);
  auto odd = U32Filter::parse({"match", "ip", "src", "192.168.1.200/25", "classid", "1:1"});
  EXPECT_EQ(class_of(*odd, *tcp(80, "192.168.1.129")), k1_1);
  EXPECT_EQ(class_of(*odd, *tcp(80, "192.168.1.127")), 0u);
  auto dst = U32Filter::parse({"match", "ip", "dst", "10.0.0.2/32", "classid", "1:1"});
  EXPECT_EQ(class_of(*dst, *tcp(80)), k1_1);  // FrameSpec's default destination
}

TEST_F(U32, ProtocolAndTos) {
  auto tcp_only = U32Filter::parse({"match", "ip", "protocol", "6", "0xff", "classid", "1:1"});
  EXPECT_EQ(class_of(*tcp_only, *tcp(80)), k1_1);
  EXPECT_EQ(class_of(*tcp_only, *udp(80)), 0u);

  FrameSpec s;
  s.dscp = 4;  // tos 0x10
  auto tos = U32Filter::parse({"match", "ip", "tos", "0x10", "0xff", "classid", "1:2"});
  auto dscp_only = U32Filter::parse({"match", "ip", "dsfield", "0x10", "0xfc", "classid", "1:2"});
  EXPECT_EQ(class_of(*tos, *frame(s)), k1_2);
  s.ecn = 1;  // tos 0x11: the full mask no longer matches, the DSCP mask still does
  EXPECT_EQ(class_of(*tos, *frame(s)), 0u);
  EXPECT_EQ(class_of(*dscp_only, *frame(s)), k1_2);
  s.dscp = 0;
  EXPECT_EQ(class_of(*dscp_only, *frame(s)), 0u);
}

TEST_F(U32, Ip6MatchesOnlyIpv6) {
  auto f = U32Filter::parse({"match", "ip6", "dst", "2001:db8::/32", "classid", "1:5"});
  FrameSpec s;
  s.ipv6 = true;
  s.src_ip = ipv6_address("fe80::1");
  s.dst_ip = ipv6_address("2001:db8:1::1");
  EXPECT_EQ(class_of(*f, *frame(s)), k1_5);
  s.dst_ip = ipv6_address("2001:db9::1");
  EXPECT_EQ(class_of(*f, *frame(s)), 0u);
  EXPECT_EQ(class_of(*f, *tcp(80)), 0u);  // IPv4
  auto port = U32Filter::parse({"match", "ip6", "dport", "2000", "0xffff", "classid", "1:1"});
  s.dst_ip = ipv6_address("2001:db8::1");
  EXPECT_EQ(class_of(*port, *frame(s)), k1_1);
  auto v4port = U32Filter::parse({"match", "ip", "dport", "2000", "0xffff", "classid", "1:1"});
  EXPECT_EQ(class_of(*v4port, *frame(s)), 0u);  // an `ip` match never matches IPv6
}

TEST_F(U32, MatchesAreAnded) {
  auto f = U32Filter::parse({"match", "ip", "dport", "22", "0xffff", "match", "ip", "src", "10.0.0.0/8",
                             "match", "ip", "protocol", "6", "0xff", "classid", "1:10"});
  EXPECT_EQ(f->matches().size(), 3u);
  EXPECT_EQ(class_of(*f, *tcp(22, "10.9.9.9")), k1_10);
  EXPECT_EQ(class_of(*f, *tcp(22, "172.16.0.1")), 0u);
  EXPECT_EQ(class_of(*f, *udp(22)), 0u);
  EXPECT_EQ(class_of(*f, *tcp(23, "10.9.9.9")), 0u);
}

TEST(U32Parse, ErrorsNameTheTokenAndWhatWasExpected) {
  EXPECT_EQ(parse_error({"match", "ip", "dport", "22", "classid", "1:10"}),
            "u32 filter: bad mask for dport `classid` (hint: expected a number from 0 to 65535 (decimal or 0x hex))");
  EXPECT_EQ(parse_error({"match", "ip", "dport", "70000", "0xffff", "classid", "1:1"}),
            "u32 filter: bad value for dport `70000` (hint: expected a number from 0 to 65535 (decimal or 0x hex))");
  EXPECT_EQ(parse_error({"match", "ip", "src", "10.0.0/8", "classid", "1:1"}),
            "u32 filter: bad address `10.0.0/8` (hint: expected an IPv4 address with an optional /LEN, e.g. 10.0.0.0/8)");
  EXPECT_EQ(parse_error({"match", "ip", "src", "10.0.0.0/33", "classid", "1:1"}),
            "u32 filter: bad prefix length `33` (hint: expected a number from 0 to 32 (decimal or 0x hex))");
  EXPECT_EQ(parse_error({"match", "ip6", "dst", "2001:db8::/129", "classid", "1:1"}),
            "u32 filter: bad prefix length `129` (hint: expected a number from 0 to 128 (decimal or 0x hex))");
  EXPECT_EQ(parse_error({"match", "ip", "ttl", "1", "0xff", "classid", "1:1"}),
            "u32 filter: unknown field `ttl` after `ip` (hint: expected src, dst, sport, dport, protocol, tos or dsfield)");
  EXPECT_EQ(parse_error({"match", "tcp", "dport", "22", "0xffff"}),
            "u32 filter: unsupported selector `tcp` after `match` (hint: expected `ip`, `ip6` or `mark`)");
  EXPECT_EQ(parse_error({"match", "ip", "dport", "22", "0xffff"}),
            "u32 filter: no class id (hint: add `classid MAJOR:MINOR` (or `flowid`), e.g. classid 1:10)");
  EXPECT_EQ(parse_error({"match", "ip", "dport", "22", "0xffff", "classid", "x:y"}),
            "u32 filter: bad class id `x:y` after `classid` (hint: expected MAJOR:MINOR in hex, e.g. 1:10)");
  EXPECT_EQ(parse_error({"match", "ip", "dport"}), "u32 filter: missing a value after `dport` (hint: expected a value)");
  EXPECT_EQ(parse_error({"classid", "1:1"}), "u32 filter: no match (hint: expected at least one `match ip|ip6 FIELD ...` or `match mark VALUE MASK`)");
  EXPECT_EQ(parse_error({"police", "rate", "1mbit"}),
            "u32 filter: unexpected `police` (hint: expected `match`, `classid` or `flowid`)");
}

// ---- cls_bpf ----

class BpfCls : public ::testing::Test, public Frames {
 protected:
  const std::string obj = test_object("device_cls");
};

TEST_F(BpfCls, PlainModeReturnValueIsTheClassid) {
  BpfFilter f(TcProgram::open(obj), k1_5);
  EXPECT_FALSE(f.direct_action());
  EXPECT_EQ(f.program().section(), "tc");
  EXPECT_EQ(class_of(f, *tcp(22)), k1_10);  // returned 0x10010
  EXPECT_EQ(class_of(f, *udp(53)), k1_5);   // returned -1: the filter's classid
  EXPECT_EQ(class_of(f, *tcp(80)), 0u);     // returned 0: no match
  EXPECT_EQ(f.program().runs(), 3u);
  EXPECT_EQ(f.program().faults(), 0u);
}

TEST_F(BpfCls, DirectActionTakesTcClassidAndTheAction) {
  BpfFilter f(TcProgram::open(obj, "tc/direct"), k1_5, /*direct_action=*/true);
  uint32_t classid = 0;
  EXPECT_EQ(f.classify(*tcp(80), classid), kTcActOk);
  EXPECT_EQ(classid, 0x10020u);  // :20 takes the filter's major
  EXPECT_EQ(f.classify(*tcp(443), classid), kTcActOk);
  EXPECT_EQ(classid, 0x10030u);
  EXPECT_EQ(f.classify(*tcp(1234), classid), kTcActOk);
  EXPECT_EQ(classid, k1_5);  // untouched tc_classid: the filter's classid
  EXPECT_EQ(f.classify(*tcp(9), classid), kTcActShot);
  classid = 77;
  EXPECT_EQ(f.classify(*tcp(7), classid), kTcActUnspec);
  EXPECT_EQ(classid, 77u);
}

TEST_F(BpfCls, AFaultingProgramIsNoMatchAndCounted) {
  BpfFilter f(TcProgram::open(obj, "faulty", nullptr, runtime::Verification::RunUnverifiedChecked), k1_5);
  EXPECT_EQ(class_of(f, *tcp(22)), 0u);
  EXPECT_EQ(f.program().faults(), 1u);
  EXPECT_NE(f.program().last_fault().find("tc/faulty: out-of-bounds access of 1 bytes"), std::string::npos)
      << f.program().last_fault();
}

TEST_F(BpfCls, UnknownSectionIsAnError) {
  try {
    TcProgram::open(obj, "tc/nope");
    FAIL() << "opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tc/nope"), std::string::npos) << e.what();
  }
}

// ---- tc_classify over chains and priorities ----

class Classify : public ::testing::Test, public Frames {
 protected:
  DeviceTable devices;
  Device& eth0 = devices.add("eth0");
  Device& eth1 = devices.add("eth1", DeviceParams{.tx_queue_len = 100, .mtu = 9000});
  const Handle q1 = Handle::make(1, 0);
};

TEST_F(Classify, DevicesHaveIfindexesNamesAndParams) {
  EXPECT_EQ(eth0.ifindex(), 1);
  EXPECT_EQ(eth1.ifindex(), 2);
  EXPECT_EQ(devices.find(2), &eth1);
  EXPECT_EQ(devices.find("eth0"), &eth0);
  EXPECT_EQ(devices.find(3), nullptr);
  EXPECT_EQ(devices.find(0), nullptr);
  EXPECT_EQ(eth1.mtu(), 9000u);
  EXPECT_EQ(eth1.tx_queue_len(), 100u);
  EXPECT_EQ(eth0.mtu(), 1500u);
  EXPECT_TRUE(eth0.is_up());
  EXPECT_THROW(devices.add("eth0"), Error);
}

TEST_F(Classify, FirstMatchByPriorityWithinAChainLastChainWins) {
  eth0.add_filter(q1, 20, dport_filter("22", "1:2"));
  eth0.add_filter(q1, 10, dport_filter("22", "1:1"));
  eth0.add_filter(q1, 30, dport_filter("80", "1:2"));
  EXPECT_EQ(eth0.filter_count(q1), 3u);
  EXPECT_EQ(eth0.classify(q1, *tcp(22)), k1_1);  // prio 10 before 20
  EXPECT_EQ(eth0.classify(q1, *tcp(80)), k1_2);
  EXPECT_EQ(eth0.classify(q1, *tcp(25)), 0u);
  // A later chain that matches overrides; one that does not leaves the earlier result.
  eth0.add_filter(q1, 1, dport_filter("80", "1:5"), /*chain=*/1);
  EXPECT_EQ(eth0.classify(q1, *tcp(80)), k1_5);
  EXPECT_EQ(eth0.classify(q1, *tcp(22)), k1_1);
  // Through the table, as the helper calls it; unknown devices and handles give 0.
  EXPECT_EQ(devices.classify(*tcp(80), 1, q1.value), k1_5);
  EXPECT_EQ(devices.classify(*tcp(80), 2, q1.value), 0u);
  EXPECT_EQ(devices.classify(*tcp(80), 9, q1.value), 0u);
  EXPECT_EQ(devices.classify(*tcp(80), 1, Handle::make(2, 0).value), 0u);
}

TEST_F(Classify, ShotInAnyChainGivesZero) {
  eth0.add_filter(Handle(k1_1), 1, dport_filter("9", "1:2"));
  eth0.add_filter(Handle(k1_1), 1, std::make_unique<BpfFilter>(TcProgram::open(test_object("device_cls"), "tc/direct"), k1_5, true), 2);
  EXPECT_EQ(eth0.classify(Handle(k1_1), *tcp(9)), 0u);        // chain 2 says SHOT
  EXPECT_EQ(eth0.classify(Handle(k1_1), *tcp(80)), 0x10020u);  // chain 2's classid
  EXPECT_EQ(eth0.classify(Handle(k1_1), *tcp(7)), 0u);        // no chain matches
}

// ---- a device with a classifying BpfQdisc ----

class PrioDevice : public ::testing::Test, public EngineFixture {
 protected:
  DeviceTable devices;
  Device& eth0 = devices.add("eth0");
  BpfQdisc* q = nullptr;

  PrioDevice() {
    auto root = open(test_object("device_prio"));
    root->add_class(Handle(k1_1), std::make_unique<PfifoQdisc>(100));
    root->add_class(Handle(k1_2), std::make_unique<PfifoQdisc>(100));
    root->set_classifier(devices.classifier());
    root->init();
    q = root.get();
    eth0.set_root(std::move(root));
  }

  Packet* tcp(uint16_t dport, uint32_t mark) {
    Packet* pkt = pool.alloc();
    FrameSpec s;
    s.l4 = L4::Tcp;
    s.dport = dport;
    s.payload_len = 58;  // 112-byte frames
    EXPECT_TRUE(build_into(*pkt, s));
    pkt->skb.mark = mark;
    return pkt;
  }

  std::vector<uint32_t> drain_device() { return drain_marks(eth0, clock.now_ns(), q); }

  uint64_t egress_map(uint32_t key) {
    uint64_t v = 0;
    EXPECT_EQ(q->object().map("egress").lookup_copy(&key, &v), 0);
    return v;
  }
};

TEST_F(PrioDevice, SshLeavesFirst) {
  eth0.add_filter(Handle::make(1, 0), 1, U32Filter::parse({"match", "ip", "dport", "22", "0xffff", "classid", "1:1"}));
  const uint16_t ports[] = {80, 22, 443, 80, 22, 8080};
  for (uint32_t i = 0; i < 6; ++i) EXPECT_EQ(eth0.transmit(tcp(ports[i], i), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(q->qlen(), 6u);
  EXPECT_EQ(q->class_child(Handle(k1_1))->qlen(), 2u);
  EXPECT_EQ(q->class_child(Handle(k1_2))->qlen(), 4u);
  EXPECT_EQ(q->object().get_global<uint32_t>("classified"), 2u);
  EXPECT_EQ(drain_device(), (std::vector<uint32_t>{1, 4, 0, 2, 3, 5}));
  EXPECT_EQ(q->stats().sent_packets, 6u);
  EXPECT_EQ(q->stats().sent_bytes, 6u * 112);
  EXPECT_EQ(eth0.stats().offered, 6u);
  EXPECT_EQ(q->counters().faults, 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(PrioDevice, BpfFilterRunsInsideTheQdiscProgram) {
  // tc/direct (classid 1:1): port 7 is no match and port 9 SHOT, so tc_classify returns 0 for
  // both and the qdisc falls back to 1:2; other ports keep the filter's class 1:1.
  auto filter = std::make_unique<BpfFilter>(TcProgram::open(test_object("device_cls"), "tc/direct"), k1_1, true);
  BpfFilter* f = filter.get();
  eth0.add_filter(Handle::make(1, 0), 1, std::move(filter));
  const uint16_t ports[] = {7, 1234, 9, 5000};
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(eth0.transmit(tcp(ports[i], i), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(f->program().runs(), 4u);
  EXPECT_EQ(q->object().get_global<uint32_t>("classified"), 2u);
  EXPECT_EQ(drain_device(), (std::vector<uint32_t>{1, 3, 0, 2}));
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(PrioDevice, EgressProgramSetsPriorityAndMarkThroughASharedMap) {
  TcProgram egress = TcProgram::of_qdisc(*q);
  egress.object().set_global("egress_priority", uint32_t{2});
  eth0.set_egress_classifier(std::move(egress));
  for (int i = 0; i < 3; ++i) eth0.transmit(tcp(80, 0), 0);
  eth0.egress_classifier()->object().set_global("egress_priority", uint32_t{1});
  for (int i = 0; i < 2; ++i) eth0.transmit(tcp(80, 0), 0);
  // The qdisc read skb->priority (no filters): 4 and 5 went to 1:1. The marks are the numbers
  // the egress program kept in the map the qdisc reads: it never saw a mismatch.
  EXPECT_EQ(drain_device(), (std::vector<uint32_t>{4, 5, 1, 2, 3}));
  EXPECT_EQ(egress_map(0), 5u);
  EXPECT_EQ(egress_map(1), 0u);
  EXPECT_EQ(eth0.egress_classifier()->runs(), 5u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(PrioDevice, EgressShotIsCountedAndReleased) {
  TcProgram egress = TcProgram::of_qdisc(*q);
  egress.object().set_global("shot_port", uint32_t{9});
  eth0.set_egress_classifier(std::move(egress));
  EXPECT_EQ(eth0.transmit(tcp(80, 0), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(eth0.transmit(tcp(9, 0), 0), EnqueueResult::dropped(DropReason::ProgramVerdict));
  EXPECT_EQ(eth0.transmit(tcp(22, 0), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(eth0.stats().offered, 3u);
  EXPECT_EQ(eth0.stats().egress_shot, 1u);
  EXPECT_EQ(q->stats().enqueued_packets, 2u);  // offered == shot + what the root saw
  EXPECT_EQ(pool.in_use(), 2u);
  EXPECT_EQ(drain_device(), (std::vector<uint32_t>{1, 2}));  // the egress program numbered them
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(PrioDevice, StandaloneEgressProgramActionsAndFaults) {
  // tc/direct returns SHOT for port 9, TC_ACT_UNSPEC for port 7 and OK otherwise.
  eth0.set_egress_classifier(TcProgram::open(test_object("device_cls"), "tc/direct"));
  EXPECT_EQ(eth0.transmit(tcp(9, 1), 0), EnqueueResult::dropped(DropReason::ProgramVerdict));
  EXPECT_EQ(eth0.transmit(tcp(7, 2), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(eth0.transmit(tcp(80, 3), 0).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(eth0.stats().egress_shot, 1u);
  eth0.set_egress_classifier(TcProgram::open(test_object("device_cls"), "tc/faulty", nullptr, runtime::Verification::RunUnverifiedChecked));
  EXPECT_EQ(eth0.transmit(tcp(80, 4), 0), EnqueueResult::dropped(DropReason::ProgramFault));
  EXPECT_EQ(eth0.stats().egress_faults, 1u);
  EXPECT_EQ(eth0.egress_classifier()->faults(), 1u);
  eth0.set_egress_classifier(std::nullopt);
  EXPECT_EQ(eth0.transmit(tcp(9, 5), 0).verdict, EnqueueVerdict::Queued);
  const DeviceStats& d = eth0.stats();
  EXPECT_EQ(d.offered, 5u);
  EXPECT_EQ(d.offered, d.egress_shot + d.egress_faults + q->stats().enqueued_packets);
  EXPECT_EQ(drain_device(), (std::vector<uint32_t>{2, 3, 5}));
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(PrioDevice, DownReleasesEveryPacketAndConservationHolds) {
  eth0.add_filter(Handle::make(1, 0), 1, U32Filter::parse({"match", "ip", "dport", "22", "0xffff", "classid", "1:1"}));
  for (uint32_t i = 0; i < 5; ++i) eth0.transmit(tcp(i % 2 ? 22 : 80, i), 0);
  EXPECT_EQ(pool.in_use(), 5u);
  eth0.set_down();
  EXPECT_FALSE(eth0.is_up());
  EXPECT_EQ(eth0.stats().released_on_down, 5u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(q->qlen(), 0u);
  EXPECT_EQ(q->backlog(), 0u);
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 5u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(q->class_child(Handle(k1_1))->qlen(), 0u);
  // Down: transmit drops (counted), dequeue is empty.
  EXPECT_EQ(eth0.transmit(tcp(22, 9), 0), EnqueueResult::dropped(DropReason::Reset));
  EXPECT_EQ(eth0.stats().down_drops, 1u);
  EXPECT_EQ(eth0.dequeue(0).kind, DequeueResult::Kind::Empty);
  EXPECT_EQ(pool.in_use(), 0u);
  // Up again: the reset qdisc works from a clean state (its backlog map was cleared too).
  eth0.set_up();
  eth0.transmit(tcp(80, 10), 0);
  eth0.transmit(tcp(22, 11), 0);
  EXPECT_EQ(drain_device(), (std::vector<uint32_t>{11, 10}));
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace bpfq::sched::test
