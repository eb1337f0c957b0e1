// ns3::BpfQueueDisc seen from ns-3: items in, items out, and what ns-3's statistics and traces
// see of every drop, mark and wake-up the programs make.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <ns3/core-module.h>
#include <ns3/internet-module.h>
#include <ns3/network-module.h>
#include <ns3/traffic-control-module.h>

#include <bpfq/ns3/bpf-queue-disc.h>

namespace {

using namespace ns3;

const std::string kTestProgs = std::string(BPFQ_BINARY_DIR) + "/progs/tests/";

// An IPv4/TCP packet of flow sport → 80 as the traffic-control layer hands it to a queue disc.
Ptr<Ipv4QueueDiscItem> tcp_item(uint16_t sport, uint32_t payload = 1000,
                                Ipv4Header::EcnType ecn = Ipv4Header::ECN_NotECT, uint8_t priority = 0) {
  Ptr<Packet> p = Create<Packet>(payload);
  TcpHeader tcp;
  tcp.SetSourcePort(sport);
  tcp.SetDestinationPort(80);
  p->AddHeader(tcp);
  if (priority) {
    SocketPriorityTag tag;
    tag.SetPriority(priority);
    p->AddPacketTag(tag);
  }
  Ipv4Header ip;
  ip.SetSource(Ipv4Address("10.0.0.1"));
  ip.SetDestination(Ipv4Address("10.0.0.2"));
  ip.SetProtocol(6);
  ip.SetTtl(64);
  ip.SetPayloadSize(p->GetSize());
  ip.SetEcn(ecn);
  return Create<Ipv4QueueDiscItem>(p, Mac48Address("02:00:00:00:00:02"), 0x0800, ip);
}

// The same over IPv6.
Ptr<Ipv6QueueDiscItem> tcp6_item(uint16_t sport, uint32_t payload = 1000) {
  Ptr<Packet> p = Create<Packet>(payload);
  TcpHeader tcp;
  tcp.SetSourcePort(sport);
  tcp.SetDestinationPort(80);
  p->AddHeader(tcp);
  Ipv6Header ip;
  ip.SetSource(Ipv6Address("2001:db8::1"));
  ip.SetDestination(Ipv6Address("2001:db8::2"));
  ip.SetNextHeader(6);
  ip.SetHopLimit(64);
  ip.SetPayloadLength(p->GetSize());
  return Create<Ipv6QueueDiscItem>(p, Mac48Address("02:00:00:00:00:02"), 0x86DD, ip);
}

Ptr<BpfQueueDisc> bpf_qdisc(const std::string& program, const std::string& params = "") {
  Ptr<BpfQueueDisc> q = CreateObject<BpfQueueDisc>();
  q->SetAttribute("Program", StringValue(program));
  q->SetAttribute("Parameters", StringValue(params));
  return q;
}

// What the queue disc's drop and mark traces saw.
struct Seen {
  std::vector<std::pair<uint64_t, std::string>> before, after, marks;  // (packet uid, reason)
  void watch(Ptr<QueueDisc> q) {
    q->TraceConnectWithoutContext("DropBeforeEnqueue", MakeCallback(&Seen::on_before, this));
    q->TraceConnectWithoutContext("DropAfterDequeue", MakeCallback(&Seen::on_after, this));
    q->TraceConnectWithoutContext("Mark", MakeCallback(&Seen::on_mark, this));
  }
  void on_before(Ptr<const QueueDiscItem> item, const char* reason) { before.emplace_back(item->GetPacket()->GetUid(), reason); }
  void on_after(Ptr<const QueueDiscItem> item, const char* reason) { after.emplace_back(item->GetPacket()->GetUid(), reason); }
  void on_mark(Ptr<const QueueDiscItem> item, const char* reason) { marks.emplace_back(item->GetPacket()->GetUid(), reason); }
};

// ns-3's own bookkeeping agrees with itself: every received packet was enqueued or dropped
// before, every enqueued one is dequeued or still queued, every dequeued one sent or dropped.
void expect_ns3_conservation(Ptr<QueueDisc> q) {
  const QueueDisc::Stats& s = q->GetStats();
  EXPECT_EQ(s.nTotalReceivedPackets, s.nTotalEnqueuedPackets + s.nTotalDroppedPacketsBeforeEnqueue);
  EXPECT_EQ(s.nTotalEnqueuedPackets, s.nTotalDequeuedPackets + q->GetNPackets());
  EXPECT_EQ(s.nTotalDequeuedPackets, s.nTotalSentPackets + s.nTotalDroppedPacketsAfterDequeue);
  EXPECT_EQ(s.nTotalDroppedPackets, s.nTotalDroppedPacketsBeforeEnqueue + s.nTotalDroppedPacketsAfterDequeue);
}

class BpfQueueDiscTest : public ::testing::Test {
 protected:
  void TearDown() override { Simulator::Destroy(); }
};

TEST_F(BpfQueueDiscTest, PfifoDropsBeyondItsLimitBeforeEnqueue) {
  Ptr<BpfQueueDisc> q = bpf_qdisc("pfifo", "limit 3");
  q->Initialize();
  Seen seen;
  seen.watch(q);
  std::vector<Ptr<Ipv4QueueDiscItem>> items;
  for (int i = 0; i < 5; ++i) items.push_back(tcp_item(1000 + i));
  std::vector<bool> accepted;
  for (const auto& item : items) accepted.push_back(q->Enqueue(item));
  EXPECT_EQ(accepted, (std::vector<bool>{true, true, true, false, false}));
  ASSERT_EQ(seen.before.size(), 2u);
  // pfifo.bpf.c answers DROP at its limit.
  EXPECT_EQ(seen.before[0], std::make_pair(items[3]->GetPacket()->GetUid(), std::string("bpfq: program_verdict")));
  EXPECT_EQ(seen.before[1].first, items[4]->GetPacket()->GetUid());
  EXPECT_EQ(q->GetNPackets(), 3u);
  EXPECT_EQ(q->GetNBytes(), 3u * items[0]->GetSize());

  for (int i = 0; i < 3; ++i) EXPECT_EQ(q->Dequeue(), items[i]) << "FIFO order, the same items";
  EXPECT_EQ(q->Dequeue(), nullptr);
  const QueueDisc::Stats& s = q->GetStats();
  EXPECT_EQ(s.nTotalReceivedPackets, 5u);
  EXPECT_EQ(s.nTotalEnqueuedPackets, 3u);
  EXPECT_EQ(s.nTotalDequeuedPackets, 3u);
  EXPECT_EQ(s.GetNDroppedPackets("bpfq: program_verdict"), 2u);
  expect_ns3_conservation(q);
  EXPECT_TRUE(q->Conserved());
}

TEST_F(BpfQueueDiscTest, FqCodelOverflowDropsFromTheFattestFlowAfterDequeue) {
  Ptr<BpfQueueDisc> q = bpf_qdisc("fq_codel", "limit 4 drop_batch 1");
  q->Initialize();
  Seen seen;
  seen.watch(q);
  std::vector<Ptr<Ipv4QueueDiscItem>> fat;
  for (int i = 0; i < 4; ++i) {
    fat.push_back(tcp_item(1111));
    ASSERT_TRUE(q->Enqueue(fat.back()));
  }
  Ptr<Ipv4QueueDiscItem> thin = tcp_item(2222);
  // Linux's fq_codel takes the new packet and drops the fat flow's head: a packet it had queued.
  EXPECT_TRUE(q->Enqueue(thin));
  EXPECT_TRUE(seen.before.empty());
  ASSERT_EQ(seen.after.size(), 1u);
  EXPECT_EQ(seen.after[0].first, fat[0]->GetPacket()->GetUid());
  EXPECT_EQ(seen.after[0].second.rfind("bpfq: ", 0), 0u) << seen.after[0].second;
  EXPECT_EQ(q->GetNPackets(), 4u);
  const QueueDisc::Stats& s = q->GetStats();
  EXPECT_EQ(s.nTotalEnqueuedPackets, 5u);
  EXPECT_EQ(s.nTotalDroppedPacketsAfterDequeue, 1u);
  // What is left comes out in DRR order: the fat flow (first on the new list) spends its
  // 1514-byte quantum on two 1074-byte frames, then the thin new flow, then the fat one again.
  std::vector<Ptr<QueueDiscItem>> out;
  while (Ptr<QueueDiscItem> item = q->Dequeue()) out.push_back(item);
  EXPECT_EQ(out, (std::vector<Ptr<QueueDiscItem>>{fat[1], fat[2], thin, fat[3]}));
  expect_ns3_conservation(q);
  EXPECT_TRUE(q->Conserved());
}

TEST_F(BpfQueueDiscTest, Ipv6FlowsAreSeparatedAsIpv4Ones) {
  // fq_codel's DRR over two IPv6 flows: each new flow's first packet, then alternation; the
  // flows are told apart from the IPv6 and TCP headers of the frame bpfq builds.
  Ptr<BpfQueueDisc> q = bpf_qdisc("fq_codel", "quantum 300");
  q->Initialize();
  std::vector<Ptr<QueueDiscItem>> a, b;
  for (int i = 0; i < 3; ++i) {
    a.push_back(tcp6_item(1111, 500));
    ASSERT_TRUE(q->Enqueue(a.back()));
  }
  for (int i = 0; i < 3; ++i) {
    b.push_back(tcp6_item(2222, 500));
    ASSERT_TRUE(q->Enqueue(b.back()));
  }
  std::vector<Ptr<QueueDiscItem>> out;
  while (Ptr<QueueDiscItem> item = q->Dequeue()) out.push_back(item);
  EXPECT_EQ(out, (std::vector<Ptr<QueueDiscItem>>{a[0], b[0], a[1], b[1], a[2], b[2]}));
  expect_ns3_conservation(q);
}

TEST_F(BpfQueueDiscTest, AProgramsEcnMarkReachesNs3AsAMark) {
  Ptr<BpfQueueDisc> q = bpf_qdisc("fq_codel", "ce_threshold 1ms");
  q->Initialize();
  Seen seen;
  seen.watch(q);
  Ptr<Ipv4QueueDiscItem> ect = tcp_item(1, 1000, Ipv4Header::ECN_ECT0);
  Ptr<Ipv4QueueDiscItem> fast = tcp_item(2, 1000, Ipv4Header::ECN_ECT0);
  Ptr<QueueDiscItem> first, second;
  Simulator::Schedule(Seconds(0), [&] { q->Enqueue(ect); });
  Simulator::Schedule(MilliSeconds(5), [&] { first = q->Dequeue(); q->Enqueue(fast); second = q->Dequeue(); });
  Simulator::Run();
  ASSERT_EQ(first, ect);
  ASSERT_EQ(second, fast);
  EXPECT_EQ(ect->GetHeader().GetEcn(), Ipv4Header::ECN_CE) << "5 ms in the queue, over the 1 ms threshold";
  EXPECT_EQ(fast->GetHeader().GetEcn(), Ipv4Header::ECN_ECT0) << "no time in the queue";
  ASSERT_EQ(seen.marks.size(), 1u);
  EXPECT_EQ(seen.marks[0], std::make_pair(ect->GetPacket()->GetUid(), std::string(BpfQueueDisc::CE_MARK)));
  EXPECT_EQ(q->GetStats().GetNMarkedPackets(BpfQueueDisc::CE_MARK), 1u);
}

TEST_F(BpfQueueDiscTest, ThrottleWakesTheQueueDiscAtTheProgramsTime) {
  // 8 Mbit/s = 1 byte/us; each frame is 14 + 20 + 20 + 966 = 1020 bytes on bpfq's side.
  Ptr<BpfQueueDisc> q = bpf_qdisc("tbf", "rate 8mbit burst 1020 limit 100000");
  std::vector<int64_t> sent_us;
  q->SetSendCallback([&](Ptr<QueueDiscItem>) { sent_us.push_back(Simulator::Now().GetMicroSeconds()); });
  q->Initialize();
  Simulator::Schedule(Seconds(0), [&] {
    for (int i = 0; i < 4; ++i) q->Enqueue(tcp_item(7, 966));
    q->Run();
  });
  Simulator::Run();
  // The first frame spends the full bucket; each next one waits for 1020 us of tokens, woken by
  // the watchdog through an ns-3 event (nothing else runs the queue disc here).
  EXPECT_EQ(sent_us, (std::vector<int64_t>{0, 1020, 2040, 3060}));
  EXPECT_EQ(q->GetNPackets(), 0u);
  expect_ns3_conservation(q);
}

TEST_F(BpfQueueDiscTest, AFaultingProgramIsCountedAndTheQueueGoesOn) {
  Ptr<BpfQueueDisc> q = bpf_qdisc(kTestProgs + "engine_fault_every.bpf.o", "every 3");
  q->SetAttribute("Unverified", BooleanValue(true));
  q->Initialize();
  Seen seen;
  seen.watch(q);
  int accepted = 0;
  for (int i = 0; i < 9; ++i) accepted += q->Enqueue(tcp_item(100 + i));
  EXPECT_EQ(accepted, 6);
  EXPECT_EQ(q->GetProgramFaults(), 3u);
  EXPECT_NE(q->GetLastFault().find("engine_fault_every.bpf.c"), std::string::npos) << q->GetLastFault();
  EXPECT_EQ(q->GetStats().GetNDroppedPackets("bpfq: program_fault"), 3u);
  EXPECT_EQ(seen.before.size(), 3u);
  int out = 0;
  while (q->Dequeue()) ++out;
  EXPECT_EQ(out, 6);
  expect_ns3_conservation(q);
  EXPECT_TRUE(q->Conserved());
}

TEST_F(BpfQueueDiscTest, AProgramsMapsAreReadableFromTheSimulation) {
  Ptr<BpfQueueDisc> q = bpf_qdisc(kTestProgs + "engine_fault_every.bpf.o", "every 1000");
  q->SetAttribute("Unverified", BooleanValue(true));  // its wild load does not verify
  q->Initialize();
  for (int i = 0; i < 5; ++i) q->Enqueue(tcp_item(100));
  // .bss holds the program's two counters (next sequence number, enqueues): both 5 now.
  const std::vector<BpfQueueDisc::MapEntry> bss = q->DumpMap(".bss");
  ASSERT_EQ(bss.size(), 1u);
  EXPECT_EQ(bss[0].key, (std::vector<uint8_t>{0, 0, 0, 0}));
  struct Counters {
    uint64_t a, b;
  };
  const std::optional<Counters> c = q->Lookup<uint32_t, Counters>(".bss", 0);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->a, 5u);
  EXPECT_EQ(c->b, 5u);
  EXPECT_FALSE((q->Lookup<uint32_t, uint64_t>(".bss", 0).has_value())) << "a value of the wrong size";
  EXPECT_TRUE(q->DumpMap("no_such_map").empty());
  while (q->Dequeue()) {
  }
}

TEST_F(BpfQueueDiscTest, ASetupFileGivesAClassfulTreeWithChildQdiscs) {
  // prio's default priomap: priority 6 → band 0 (1:1), 0 → band 1 (1:2), 1 → band 2 (1:3);
  // band 0's child is a one-packet pfifo.
  const std::string path = ::testing::TempDir() + "bpfq_ns3_prio.tc";
  std::ofstream(path) << "qdisc add dev eth0 root handle 1: prio\n"
                         "qdisc add dev eth0 parent 1:1 handle 10: pfifo limit 1\n"
                         "qdisc add dev eth0 parent 1:2 handle 20: pfifo\n"
                         "qdisc add dev eth0 parent 1:3 handle 30: fq_codel\n";
  Ptr<BpfQueueDisc> q = CreateObject<BpfQueueDisc>();
  q->SetAttribute("Setup", StringValue(path));
  q->Initialize();
  Seen seen;
  seen.watch(q);
  Ptr<Ipv4QueueDiscItem> best_effort = tcp_item(1, 100, Ipv4Header::ECN_NotECT, 0);
  Ptr<Ipv4QueueDiscItem> bulk = tcp_item(2, 100, Ipv4Header::ECN_NotECT, 1);
  Ptr<Ipv4QueueDiscItem> interactive = tcp_item(3, 100, Ipv4Header::ECN_NotECT, 6);
  Ptr<Ipv4QueueDiscItem> interactive2 = tcp_item(4, 100, Ipv4Header::ECN_NotECT, 6);
  EXPECT_TRUE(q->Enqueue(best_effort));
  EXPECT_TRUE(q->Enqueue(bulk));
  EXPECT_TRUE(q->Enqueue(interactive));
  EXPECT_FALSE(q->Enqueue(interactive2)) << "the child pfifo 10: holds one";
  ASSERT_EQ(seen.before.size(), 1u);
  EXPECT_EQ(seen.before[0], std::make_pair(interactive2->GetPacket()->GetUid(), std::string("bpfq: program_verdict")));
  EXPECT_EQ(q->Dequeue(), interactive);
  EXPECT_EQ(q->Dequeue(), best_effort);
  EXPECT_EQ(q->Dequeue(), bulk);
  EXPECT_EQ(q->Dequeue(), nullptr);
  EXPECT_NE(q->ShowStats().find("qdisc pfifo 10: parent 1:1"), std::string::npos) << q->ShowStats();
  expect_ns3_conservation(q);
  EXPECT_TRUE(q->Conserved());
  std::remove(path.c_str());
}

using BpfQueueDiscDeathTest = BpfQueueDiscTest;

TEST_F(BpfQueueDiscDeathTest, AProgramThatDoesNotExistIsAClearError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Ptr<BpfQueueDisc> q = bpf_qdisc("no_such_qdisc");
  EXPECT_EXIT(q->Initialize(), ::testing::ExitedWithCode(1), "bpfq: error: .*no_such_qdisc");
}

TEST_F(BpfQueueDiscDeathTest, AnUnsafeProgramIsRefusedWithItsSourceLine) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Ptr<BpfQueueDisc> q = bpf_qdisc(kTestProgs + "engine_fault_every.bpf.o");
  EXPECT_EXIT(q->Initialize(), ::testing::ExitedWithCode(1),
              "bpfq: error: .*engine_fault_every.bpf.c:[0-9]+.*verifier");
}

TEST_F(BpfQueueDiscDeathTest, Ns3ChildQueueDiscsAreRefusedWithAHint) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Ptr<BpfQueueDisc> q = bpf_qdisc("pfifo");
  Ptr<QueueDiscClass> c = CreateObject<QueueDiscClass>();
  c->SetQueueDisc(CreateObject<FifoQueueDisc>());
  q->AddQueueDiscClass(c);
  EXPECT_EXIT(q->Initialize(), ::testing::ExitedWithCode(1),
              "bpfq: error: ns3::BpfQueueDisc: ns-3 queue disc classes were added.*Setup file");
}

}  // namespace
