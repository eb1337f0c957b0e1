// progs/cake.bpf.c behaves as Linux's sch_cake: the deficit-mode shaper charging the bytes on the
// wire (overhead, mpu, ATM cells, PTM), diffserv tins picked by DSCP with their thresholds and
// quanta, host isolation by per-host quantum division, COBALT's drops and marks on a standing
// queue (against a model of cobalt_should_drop), wash, the autorate-ingress estimator, the ACK filter and the overflow drop from the
// fattest flow; every run conserves packets.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <random>
#include <vector>

#include <bpfq/sched/ecn.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kUs = 1'000;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kRate = 1'000'000;  // bytes/s: 1000 ns per byte on the wire

enum Diffserv : uint32_t { kDiffserv3 = 0, kDiffserv4 = 1, kDiffserv8 = 2, kBesteffort = 3, kPrecedence = 4 };
enum FlowMode : uint32_t { kFlows = 4, kDualSrc = 5, kDualDst = 6, kTriple = 7 };

// One cake parameter: its name and value in the variable's own type.
struct Param {
  const char* name;
  uint64_t value;
  int size;  // bytes of the variable
};
Param rate(const char* n, uint64_t v) { return {n, v, 8}; }
Param u32(const char* n, uint64_t v) { return {n, v, 4}; }

class Cake : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> open_cake(std::initializer_list<Param> params) {
    auto q = open(library_object("cake"));
    for (const Param& p : params) {
      if (p.size == 8) q->object().set_global(p.name, p.value);
      else q->object().set_global(p.name, static_cast<uint32_t>(p.value));
    }
    q->init();
    return q;
  }

  // A frame of frame_len bytes from src to dst (last address bytes), source port sport; mark tags it.
  Packet* udp(uint32_t frame_len, uint32_t mark, uint16_t sport = 1000, uint8_t dscp = 0, uint8_t src = 1,
              uint8_t dst = 2, uint8_t ecn = 0) {
    FrameSpec spec;
    spec.payload_len = frame_len - 42;
    spec.sport = sport;
    spec.dscp = dscp;
    spec.ecn = ecn;
    spec.src_ip = {10, 0, 0, src};
    spec.dst_ip = {10, 0, 1, dst};
    return frame(spec, mark);
  }

  // A TCP segment of one connection: ack number, payload bytes, SACK blocks.
  Packet* tcp(uint32_t mark, uint32_t ack, uint32_t payload = 0, std::vector<TcpSackBlock> sack = {},
              uint16_t dport = 80, uint8_t flags = 0x10) {
    FrameSpec spec;
    spec.l4 = L4::Tcp;
    spec.dport = dport;
    spec.tcp_ack = ack;
    spec.tcp_flags = flags;
    spec.payload_len = payload;
    for (size_t i = 0; i < sack.size(); ++i) spec.tcp_sack[i] = sack[i];
    spec.tcp_sack_count = static_cast<uint8_t>(sack.size());
    return frame(spec, mark);
  }

  EnqueueVerdict enqueue(BpfQdisc& q, Packet* pkt) { return q.enqueue(pkt, clock.now_ns()).verdict; }

  uint32_t global(BpfQdisc& q, const char* name) { return q.object().get_global<uint32_t>(name); }

  std::array<uint32_t, 8> tin_packets(BpfQdisc& q) { return q.object().get_global<std::array<uint32_t, 8>>("tin_packets"); }

  void expect_empty_and_clean(std::unique_ptr<BpfQdisc>& q) {
    EXPECT_EQ(q->qlen(), 0u);
    EXPECT_EQ(global(*q, "qlen"), 0u);
    EXPECT_EQ(global(*q, "backlog"), 0u);
    EXPECT_EQ(global(*q, "buffer_used"), 0u);
    expect_clean_end(q);
  }
};

std::vector<uint32_t> marks_of(const std::vector<Departure>& d) {
  std::vector<uint32_t> m;
  for (const Departure& x : d) m.push_back(x.mark);
  return m;
}

// ---- the shaper ----

// Without overhead compensation (raw, the default) a packet costs its frame: 1514 bytes at
// 1 MB/s is 1514 us between departures; the first goes at once.
TEST_F(Cake, RawShaperChargesTheFrameLength) {
  auto q = open_cake({rate("bandwidth", kRate), u32("diffserv", kBesteffort)});
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 1; i <= 3; ++i) ASSERT_EQ(enqueue(*q, udp(1514, i)), EnqueueVerdict::Queued);
  const std::vector<Departure> got = run_until_empty(*q, 20);
  EXPECT_EQ(got, (std::vector<Departure>{{1, t0}, {2, t0 + 1514 * kUs}, {3, t0 + 2 * 1514 * kUs}}));
  EXPECT_EQ(global(*q, "max_adjlen"), 1514u);
  expect_empty_and_clean(q);
}

// cake_calc_overhead with `atm overhead 18`: the 14-byte Ethernet header off, 18 on, then whole
// 48-byte cells of 53: a 1514-byte frame is 1500 + 18 = 1518 -> 32 cells (the last one short,
// as Linux rounds (len + 47) / 48 down... of len + 47) = 1696 bytes; a 60-byte frame is
// 46 + 18 = 64 -> 2 cells = 106 bytes.
TEST_F(Cake, AtmShaperChargesWholeCellsWithOverhead) {
  auto q = open_cake({rate("bandwidth", kRate), u32("diffserv", kBesteffort), u32("atm", 1), u32("overhead", 18),
                      u32("raw", 0), u32("flowmode", kFlows)});
  const uint64_t t0 = clock.now_ns();
  // One flow (same ports): FIFO order.
  enqueue(*q, udp(1514, 1));
  enqueue(*q, udp(60, 2));
  enqueue(*q, udp(1514, 3));
  const std::vector<Departure> got = run_until_empty(*q, 20);
  EXPECT_EQ(got, (std::vector<Departure>{{1, t0}, {2, t0 + 1696 * kUs}, {3, t0 + (1696 + 106) * kUs}}));
  EXPECT_EQ(global(*q, "max_adjlen"), 1696u);
  EXPECT_EQ(global(*q, "min_adjlen"), 106u);
  EXPECT_EQ(global(*q, "max_netlen"), 1500u);
  EXPECT_EQ(global(*q, "min_netlen"), 46u);
  expect_empty_and_clean(q);
}

// PTM adds a byte per started 64; mpu raises short packets first: `ptm overhead 22 mpu 84`:
// 60-byte frame 46 + 22 = 68 -> mpu 84 -> 84 + 2 = 86; 1514-byte frame 1522 + 24 = 1546.
// A negative overhead takes bytes off: `overhead -4` on 1514 is 1496.
TEST_F(Cake, PtmAndMpuAndNegativeOverhead) {
  auto q = open_cake({rate("bandwidth", kRate), u32("diffserv", kBesteffort), u32("atm", 2), u32("overhead", 22),
                      u32("raw", 0), u32("mpu", 84)});
  const uint64_t t0 = clock.now_ns();
  enqueue(*q, udp(60, 1));
  enqueue(*q, udp(1514, 2));
  enqueue(*q, udp(60, 3));
  EXPECT_EQ(run_until_empty(*q, 20),
            (std::vector<Departure>{{1, t0}, {2, t0 + 86 * kUs}, {3, t0 + (86 + 1546) * kUs}}));
  expect_empty_and_clean(q);

  auto n = open_cake({rate("bandwidth", kRate), u32("diffserv", kBesteffort), u32("overhead", static_cast<uint32_t>(-4)),
                      u32("raw", 0)});
  const uint64_t t1 = clock.now_ns();
  enqueue(*n, udp(1514, 1));
  enqueue(*n, udp(1514, 2));
  EXPECT_EQ(run_until_empty(*n, 20), (std::vector<Departure>{{1, t1}, {2, t1 + 1496 * kUs}}));
  expect_empty_and_clean(n);
}

// init refuses what tc refuses.
TEST_F(Cake, InitRefusesOutOfRangeParameters) {
  for (const Param& p : {u32("diffserv", 5), u32("flowmode", 8), u32("atm", 3), u32("ack_filter", 3),
                         u32("overhead", 257), u32("overhead", static_cast<uint32_t>(-65)), u32("mpu", 257)}) {
    auto q = open(library_object("cake"));
    q->object().set_global(p.name, static_cast<uint32_t>(p.value));
    EXPECT_ANY_THROW(q->init()) << p.name << " " << static_cast<int32_t>(p.value);
  }
}

// ---- tins ----

// cake_select_tin: DSCP through diffserv4's and diffserv3's tables; skb->priority 1:N picks the
// tin by tin_order (diffserv3/4 count their tins in bulk_order: 1:1 is the bulk tin).
TEST_F(Cake, TinsAreChosenByDscp) {
  auto q = open_cake({u32("diffserv", kDiffserv4)});
  // BE 0 -> tin 0; CS1 8 and LE 1 -> 1 (bulk); AF41 34 and CS3 24 -> 2 (video); EF 46 and CS6 48 -> 3 (voice).
  const std::vector<std::pair<uint8_t, int>> dscps = {{0, 0}, {8, 1}, {1, 1}, {34, 2}, {24, 2}, {46, 3}, {48, 3}};
  uint32_t mark = 1;
  for (auto [dscp, tin] : dscps) enqueue(*q, udp(100, mark++, 1000, dscp));
  EXPECT_EQ(tin_packets(*q), (std::array<uint32_t, 8>{1, 2, 2, 2, 0, 0, 0, 0}));
  drain(*q);
  expect_empty_and_clean(q);

  auto d3 = open_cake({u32("diffserv", kDiffserv3)});
  // diffserv3: EF, CS6, CS7 -> 2; CS1, LE -> 1; AF41 -> 0.
  for (uint8_t dscp : {46, 48, 56, 8, 1, 34, 0}) enqueue(*d3, udp(100, mark++, 1000, dscp));
  Packet* prio = udp(100, mark++, 1000, 46);
  prio->skb.priority = 0x00010001;  // 1:1 -> tin_order[0] = tin 1, whatever the DSCP
  enqueue(*d3, prio);
  EXPECT_EQ(tin_packets(*d3), (std::array<uint32_t, 8>{2, 3, 3, 0, 0, 0, 0, 0}));
  drain(*d3);
  expect_empty_and_clean(d3);

  auto be = open_cake({u32("diffserv", kBesteffort)});
  for (uint8_t dscp : {46, 8, 0}) enqueue(*be, udp(100, mark++, 1000, dscp));
  EXPECT_EQ(tin_packets(*be), (std::array<uint32_t, 8>{3, 0, 0, 0, 0, 0, 0, 0}));
  drain(*be);
  expect_empty_and_clean(be);
}

// wash: the tin is still picked by the DSCP a packet comes with; it leaves with DSCP 0, its ECN
// bits and a correct IPv4 header checksum: byte for byte the frame built with DSCP 0. IPv6 keeps
// its ECN bits and flow label. Without wash the DSCP stays.
TEST_F(Cake, WashClearsTheDscpAfterTheTinIsPicked) {
  FrameSpec v4;
  v4.payload_len = 58;
  v4.dscp = 46;  // EF: the voice tin
  v4.ecn = 2;    // ECT(0)
  FrameSpec v6;
  v6.ipv6 = true;
  v6.src_ip = ipv6_address("2001:db8::1");
  v6.dst_ip = ipv6_address("2001:db8::2");
  v6.payload_len = 40;
  v6.dscp = 34;  // AF41: the video tin
  v6.ecn = 1;    // ECT(1)
  v6.flow_label = 0x12345;
  FrameSpec arp_like = v4;  // DSCP 0: nothing to wash
  arp_like.dscp = 0;
  for (const uint32_t washing : {1u, 0u}) {
    auto q = open_cake({u32("diffserv", kDiffserv4), u32("wash", washing)});
    enqueue(*q, frame(v4, 1));
    enqueue(*q, frame(v6, 2));
    enqueue(*q, frame(arp_like, 3));
    EXPECT_EQ(tin_packets(*q), (std::array<uint32_t, 8>{1, 0, 1, 1, 0, 0, 0, 0})) << "wash " << washing;
    std::map<uint32_t, std::vector<uint8_t>> left;
    for (int i = 0; i < 3; ++i) {
      DequeueResult r = q->dequeue(clock.now_ns());
      ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
      left[r.packet->skb.mark].assign(r.packet->data(), r.packet->data_end());
      PacketPool::release(r.packet);
    }
    FrameSpec v4_out = v4, v6_out = v6;
    if (washing) v4_out.dscp = v6_out.dscp = 0;
    EXPECT_EQ(left[1], build_frame(v4_out)) << "wash " << washing << ": IPv4";
    EXPECT_EQ(left[2], build_frame(v6_out)) << "wash " << washing << ": IPv6";
    EXPECT_EQ(left[3], build_frame(arp_like)) << "wash " << washing << ": DSCP 0";
    expect_empty_and_clean(q);
  }
}

// autorate-ingress: from unlimited, the rate becomes 15/16 of the estimated arrival rate once the
// clock passes 250 ms, exactly as a model of Linux's estimator computes it. Arrivals are 1000-byte
// frames 50 to 150 us apart (10 MB/s on average): the estimator ends a window at each gap longer
// than its average interval, which perfectly even arrivals would never give it.
TEST_F(Cake, AutorateIngressShapesAtFifteenSixteenthsOfItsEstimate) {
  auto q = open_cake({u32("diffserv", kBesteffort), u32("autorate_ingress", 1)});
  struct Estimator {  // cake_enqueue's estimate, written from its description
    uint64_t last = 0, avg_interval = 0, window_bytes = 0, window_begin = 0, peak = 0, rate = 0;
    static uint64_t ewma(uint64_t avg, uint64_t sample, int shift) { return avg - (avg >> shift) + (sample >> shift); }
    void arrive(uint64_t now, uint64_t len) {
      window_bytes += len;
      const uint64_t interval = std::min<uint64_t>(now - last, 1'000'000'000);
      avg_interval = ewma(avg_interval, interval, interval > avg_interval ? 2 : 8);
      last = now;
      if (interval <= avg_interval) return;
      const uint64_t bps = window_bytes * 1'000'000'000 / (now - window_begin);
      peak = ewma(peak, bps, bps > peak ? 2 : 8);
      window_bytes = 0;
      window_begin = now;
      if (now > 250 * kMs) rate = peak * 15 >> 4;
    }
  } model;
  std::mt19937 rng(7);
  uint64_t sent = 0, throttled_before_250ms = 0, rate_at_1s = 0;
  uint32_t arrived_after_1s = 0;
  for (uint32_t i = 1; clock.now_ns() < 1'500 * kMs; ++i) {
    clock.advance(std::uniform_int_distribution<uint64_t>(50, 150)(rng) * kUs);
    enqueue(*q, udp(1000, i));
    model.arrive(clock.now_ns(), 1000);
    if (clock.now_ns() > 1'000 * kMs) {
      if (!rate_at_1s) rate_at_1s = model.rate;
      ++arrived_after_1s;
    }
    for (;;) {
      DequeueResult r = q->dequeue(clock.now_ns());
      if (r.kind == DequeueResult::Kind::Throttled && clock.now_ns() <= 250 * kMs) ++throttled_before_250ms;
      if (r.kind != DequeueResult::Kind::Packet) break;
      if (clock.now_ns() > 1'000 * kMs) ++sent;
      PacketPool::release(r.packet);
    }
  }
  EXPECT_EQ(q->object().get_global<uint64_t>("avg_peak_bandwidth"), model.peak);
  EXPECT_EQ(q->object().get_global<uint64_t>("rate_bps"), model.rate);
  std::printf("autorate: rate %llu B/s at 1 s, %llu at the end; %u arrived and %llu sent in the last 0.5 s\n",
              (unsigned long long)rate_at_1s, (unsigned long long)model.rate, arrived_after_1s,
              (unsigned long long)sent);
  EXPECT_EQ(throttled_before_250ms, 0u) << "unlimited until the first applied estimate";
  // The estimate lies between the mean arrival rate and the fastest arrivals (20 MB/s): Linux's
  // estimator leans to the peak (its average rises 4 times faster than it falls).
  EXPECT_GT(model.rate, 15 * 10'000'000ull / 16);
  EXPECT_LT(model.rate, 20'000'000u);
  EXPECT_GE(sent + 1, arrived_after_1s) << "the estimate is above the arrival rate: nothing stands";
  run_until_empty(*q, 100);
  // A burst at one instant (no gap: no new estimate) leaves at the estimated rate.
  for (uint32_t i = 0; i < 20; ++i) enqueue(*q, udp(1000, 100000 + i));
  const std::vector<Departure> burst = run_until_empty(*q, 100);
  ASSERT_EQ(burst.size(), 20u);
  const double spacing_ns = 1000 * 1e9 / static_cast<double>(model.rate);
  for (size_t i = 1; i < burst.size(); ++i)
    EXPECT_NEAR(static_cast<double>(burst[i].at_ns - burst[i - 1].at_ns), spacing_ns, spacing_ns * 0.001) << i;
  expect_empty_and_clean(q);
}

// fwmark: (skb->mark & fwmark) >> its lowest set bit, in 1 .. tins, picks tin_order[N - 1]
// before the DSCP (diffserv4 counts its tins in bulk_order: 1 is bulk, 2 best effort).
TEST_F(Cake, FwmarkPicksTheTin) {
  auto q = open_cake({u32("diffserv", kDiffserv4), u32("fwmark", 0xf0000)});
  enqueue(*q, udp(100, 0x10001, 1000, 46));  // 1 -> tin 1 although EF
  enqueue(*q, udp(100, 0x20002, 1000, 46));  // 2 -> tin 0
  enqueue(*q, udp(100, 0x30003));            // 3 -> tin 2
  enqueue(*q, udp(100, 0x40004));            // 4 -> tin 3
  enqueue(*q, udp(100, 0x50005, 1000, 46));  // 5 > 4 tins: the DSCP (EF -> tin 3)
  enqueue(*q, udp(100, 0x00006, 1000, 8));   // 0: the DSCP (CS1 -> tin 1)
  EXPECT_EQ(tin_packets(*q), (std::array<uint32_t, 8>{1, 2, 1, 2, 0, 0, 0, 0}));
  drain(*q);
  expect_empty_and_clean(q);
}

// Shaped diffserv4 at 1 MB/s, 1000-byte frames (1 ms each): voice (EF, tin 3, threshold rate/4)
// goes first while within its threshold, so it gets every fourth slot while best effort is
// backlogged; then, alone, it takes the whole rate (the threshold is soft, the shaper hard).
// (target 50 ms keeps COBALT out of it: with 5 ms it would drop best effort's 7th packet.)
TEST_F(Cake, VoiceHasPriorityUpToItsThreshold) {
  auto q = open_cake({rate("bandwidth", kRate), u32("diffserv", kDiffserv4), rate("target", 50 * kMs)});
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 1; i <= 8; ++i) enqueue(*q, udp(1000, 100 + i, 1000, 0));   // best effort
  for (uint32_t i = 1; i <= 6; ++i) enqueue(*q, udp(1000, 200 + i, 2000, 46));  // EF
  const std::vector<Departure> got = run_until_empty(*q, 100);
  const std::vector<uint32_t> want = {201, 101, 102, 103, 202, 104, 105, 106, 203, 107, 108, 204, 205, 206};
  EXPECT_EQ(marks_of(got), want);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].at_ns, t0 + i * kMs) << i;
  expect_empty_and_clean(q);
}

// Unlimited diffserv3: a DRR over the tins' quanta (best effort 1024, voice 256), as cake_dequeue's
// unlimited branch, against a model of it.
TEST_F(Cake, UnlimitedTinsShareByTheirQuanta) {
  auto q = open_cake({u32("diffserv", kDiffserv3)});
  for (uint32_t i = 1; i <= 20; ++i) enqueue(*q, udp(1000, 100 + i, 1000, 0));   // tin 0
  for (uint32_t i = 1; i <= 20; ++i) enqueue(*q, udp(1000, 200 + i, 2000, 46));  // tin 2
  // The model: tins 0..2 with quanta 1024, 64, 256 and their deficits; cur_tin persists.
  std::array<int32_t, 3> deficit{}, quantum{1024, 64, 256};
  std::array<std::deque<uint32_t>, 3> queued;
  for (uint32_t i = 1; i <= 20; ++i) queued[0].push_back(100 + i), queued[2].push_back(200 + i);
  uint32_t cur = 0;
  std::vector<uint32_t> want;
  while (!queued[0].empty() || !queued[2].empty()) {
    while (deficit[cur] < 0 || queued[cur].empty()) {
      if (deficit[cur] <= 0) deficit[cur] += quantum[cur];
      cur = (cur + 1) % 3;
    }
    want.push_back(queued[cur].front());
    queued[cur].pop_front();
    deficit[cur] -= 1000;
  }
  EXPECT_EQ(drain(*q), want);
  // Best effort got four times voice's share while both were backlogged.
  const auto first25 = std::vector<uint32_t>(want.begin(), want.begin() + 25);
  EXPECT_EQ(std::count_if(first25.begin(), first25.end(), [](uint32_t m) { return m > 200; }), 5);
  expect_empty_and_clean(q);
}

// ---- host isolation ----

// Host A sends 8 flows of 20 packets, host B one flow of 60, queued at once (unlimited,
// besteffort, 1000-byte frames). The share of B among the 80 packets sent after the first 20
// (every flow starts sparse with a whole quantum, so the first round is per flow).
// src_a/src_b and dst_a/dst_b are the hosts' address bytes.
class CakeHosts : public Cake {
 protected:
  int host_b_share(uint32_t flowmode, uint8_t src_a, uint8_t dst_a, uint8_t src_b, uint8_t dst_b) {
    auto q = open_cake({u32("diffserv", kBesteffort), u32("flowmode", flowmode)});
    for (uint32_t round = 0; round < 20; ++round) {
      for (uint16_t f = 0; f < 8; ++f) enqueue(*q, udp(1000, 1000 + f, static_cast<uint16_t>(3000 + f), 0, src_a, dst_a));
      for (int k = 0; k < 3; ++k) enqueue(*q, udp(1000, 2, 4000, 0, src_b, dst_b));
    }
    const std::vector<uint32_t> sent = drain(*q);
    EXPECT_EQ(sent.size(), 220u);
    int b = 0;
    for (size_t i = 20; i < 100 && i < sent.size(); ++i) b += sent[i] == 2;
    expect_empty_and_clean(q);
    return b;
  }
};

// dual-dsthost: a flow's quantum is divided by its destination host's bulk flows, so the two
// destinations share ~50/50 although A has 8 flows; per-flow fairness (flows) gives B 1/9.
TEST_F(CakeHosts, DualDsthostSharesByDestinationHost) {
  const int isolated = host_b_share(kDualDst, 1, 10, 1, 20);
  EXPECT_GE(isolated, 35) << "B's share of 80";
  EXPECT_LE(isolated, 45);
  const int per_flow = host_b_share(kFlows, 1, 10, 1, 20);
  EXPECT_LE(per_flow, 12);
}

// dual-srchost isolates by source; triple-isolate by both: with distinct sources and
// destinations both give ~50/50. triple-isolate with one shared source is fair per flow again
// (the source's 9 bulk flows divide every flow's quantum alike).
TEST_F(CakeHosts, DualSrchostAndTripleIsolate) {
  const int dual_src = host_b_share(kDualSrc, 1, 10, 2, 10);
  EXPECT_GE(dual_src, 35);
  EXPECT_LE(dual_src, 45);
  const int triple = host_b_share(kTriple, 1, 10, 2, 20);
  EXPECT_GE(triple, 35);
  EXPECT_LE(triple, 45);
  const int triple_one_source = host_b_share(kTriple, 1, 10, 1, 20);
  EXPECT_LE(triple_one_source, 12);
}

// ---- COBALT ----

// A model of cobalt_should_drop / the rec_inv_sqrt cache (sch_cake.c) for one flow.
struct CobaltModel {
  uint64_t target, interval, mtu_time;
  uint32_t count = 0, ris = 0;
  uint64_t drop_next = 0;
  bool dropping = false;
  std::array<uint32_t, 16> cache{};

  static uint32_t newton(uint32_t ris, uint32_t count) {
    const uint32_t inv2 = static_cast<uint32_t>((static_cast<uint64_t>(ris) * ris) >> 32);
    uint64_t val = (3ULL << 32) - static_cast<uint64_t>(count) * inv2;
    val >>= 2;
    return static_cast<uint32_t>((val * ris) >> 31);
  }
  CobaltModel(uint64_t t, uint64_t i, uint64_t m) : target(t), interval(i), mtu_time(m) {
    uint32_t r = ~0u;
    cache[0] = r;
    for (uint32_t c = 1; c < 16; ++c) {
      for (int k = 0; k < 4; ++k) r = newton(r, c);
      cache[c] = r;
    }
  }
  void invsqrt() { ris = count < 16 ? cache[count] : newton(ris, count); }
  uint64_t control(uint64_t t) const { return t + ((static_cast<uint64_t>(static_cast<uint32_t>(interval)) * ris) >> 32); }
  // true: drop (or mark, if ect)
  bool signal(uint64_t now, uint64_t sojourn) {
    int64_t schedule = static_cast<int64_t>(now - drop_next);
    const bool over = sojourn > target && sojourn > mtu_time * 4;
    bool next_due = count && schedule >= 0, drop = false;
    if (over) {
      if (!dropping) {
        dropping = true;
        drop_next = control(now);
      }
      if (!count) count = 1;
    } else if (dropping) {
      dropping = false;
    }
    if (next_due && dropping) {
      drop = true;
      ++count;
      invsqrt();
      drop_next = control(drop_next);
      schedule = static_cast<int64_t>(now - drop_next);
    } else {
      while (next_due) {
        --count;
        invsqrt();
        drop_next = control(drop_next);
        schedule = static_cast<int64_t>(now - drop_next);
        next_due = count && schedule >= 0;
      }
    }
    if (!count) drop_next = now + interval;
    else if (schedule > 0 && !drop) drop_next = now;
    return drop;
  }
};

// A standing queue: 300 frames of 1000 bytes queued at once, sent at 1 MB/s (1 ms each). Once
// the sojourn time is above target (5 ms) and 4 MTU times (6.056 ms), COBALT drops at the
// control law's times; drops do not use the shaper, so the next packet goes in the same slot.
// With ECN-capable packets the same signals are CE marks and nothing is dropped.
TEST_F(Cake, CobaltDropsAndMarksAStandingQueueByTheControlLaw) {
  for (const bool ect : {false, true}) {
    auto q = open_cake({rate("bandwidth", kRate), u32("diffserv", kBesteffort)});
    const uint64_t t0 = clock.now_ns();
    constexpr uint32_t kPackets = 300;
    for (uint32_t i = 1; i <= kPackets; ++i) enqueue(*q, udp(1000, i, 1000, 0, 1, 2, ect ? 2 : 0));
    // The model: target 5 ms, interval 100 ms, mtu_time 1514 us.
    CobaltModel m(5 * kMs, 100 * kMs, 1514 * kUs);
    std::vector<Departure> want;
    std::vector<uint32_t> want_signalled;
    uint64_t slot = t0;
    for (uint32_t i = 1; i <= kPackets; ++i) {
      const bool signal = m.signal(slot, slot - t0);
      if (signal) want_signalled.push_back(i);
      if (signal && !ect && i < kPackets) continue;  // dropped (the last packet never is)
      want.push_back({i, slot});
      slot += kMs;
    }
    ASSERT_GE(want_signalled.size(), 5u);
    // Packet 8 (sojourn 7 ms) is the first over target; the flow's first dropping state starts
    // with rec_inv_sqrt 0, so its first signal is the very next packet, 9.
    EXPECT_EQ(want_signalled.front(), 9u);
    std::vector<Departure> got;
    std::vector<uint32_t> marked;
    for (int guard = 0; guard < 2000; ++guard) {
      DequeueResult r = q->dequeue(clock.now_ns());
      if (r.kind == DequeueResult::Kind::Packet) {
        got.push_back({r.packet->skb.mark, clock.now_ns()});
        if (ecn_codepoint(std::span<const uint8_t>(r.packet->data(), r.packet->skb.len)) == 3) marked.push_back(r.packet->skb.mark);
        PacketPool::release(r.packet);
      } else if (r.kind == DequeueResult::Kind::Throttled) {
        clock.set(r.throttled_until_ns);
      } else {
        break;
      }
    }
    EXPECT_EQ(got, want) << (ect ? "ECT" : "not ECT");
    if (ect) {
      EXPECT_EQ(marked, want_signalled);
      EXPECT_EQ(global(*q, "ecn_marks"), want_signalled.size());
      EXPECT_EQ(q->stats().dropped, 0u);
    } else {
      EXPECT_TRUE(marked.empty());
      EXPECT_EQ(global(*q, "cobalt_drops"), want_signalled.size());
      EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), want_signalled.size());
    }
    EXPECT_EQ(q->stats().sent_packets + q->stats().dropped, kPackets);
    expect_empty_and_clean(q);
  }
}

// BLUE: each overflow drop of a queue more than `target` after the queue's last BLUE increase
// raises its drop probability by 1/256; after 256 it is certain, and the queue's packets are
// dropped at dequeue — all but its last one, which COBALT never drops. Overflows closer together
// than target raise it only once (here: not at all, within the first 5 ms).
TEST_F(Cake, BlueDropsAQueueThatKeepsOverflowing) {
  for (const bool spaced : {true, false}) {
    auto q = open_cake({u32("memlimit", 2000), u32("diffserv", kBesteffort), u32("flowmode", kFlows)});
    uint32_t mark = 1;
    for (int event = 0; event < 260; ++event) {
      clock.advance(spaced ? 6 * kMs : 1 * kUs);
      for (int k = 0; k < 3; ++k) enqueue(*q, udp(1000, mark++));
    }
    // Each event's arrivals overflow the 2000 bytes: the queue keeps the last two.
    EXPECT_EQ(global(*q, "overlimit_drops"), 260u * 3 - 2);
    const std::vector<uint32_t> sent = drain(*q);
    if (spaced) {
      EXPECT_EQ(sent, (std::vector<uint32_t>{mark - 1}));
      EXPECT_EQ(global(*q, "cobalt_drops"), 1u);
    } else {
      EXPECT_EQ(sent, (std::vector<uint32_t>{mark - 2, mark - 1}));
      EXPECT_EQ(global(*q, "cobalt_drops"), 0u);
    }
    expect_empty_and_clean(q);
  }
}

// ---- the ACK filter ----

// ack-filter drops a queued pure ACK once two newer ones make it redundant (the oldest
// eligible one goes); ack-filter-aggressive already when the newer ACK directly follows it.
TEST_F(Cake, AckFilterDropsExactlyTheRedundantAck) {
  auto q = open_cake({u32("ack_filter", 1)});
  enqueue(*q, tcp(1, 1000));
  enqueue(*q, tcp(2, 2000));
  EXPECT_EQ(global(*q, "ack_drops"), 0u);
  enqueue(*q, tcp(3, 3000));
  EXPECT_EQ(global(*q, "ack_drops"), 1u);
  EXPECT_EQ(q->qlen(), 2u);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 1u);
  expect_empty_and_clean(q);

  auto a = open_cake({u32("ack_filter", 2)});
  enqueue(*a, tcp(1, 1000));
  enqueue(*a, tcp(2, 2000));
  EXPECT_EQ(global(*a, "ack_drops"), 1u);
  EXPECT_EQ(drain(*a), (std::vector<uint32_t>{2}));
  expect_empty_and_clean(a);
}

// What the filter must keep: data segments, ACKs of another connection, an ACK carrying SACK
// information the newer one lacks, ACKs newer than the arriving one, and it never triggers on a
// SYN; an ACK whose SACK blocks a newer one covers goes. With the filter off nothing is dropped.
TEST_F(Cake, AckFilterKeepsWhatCarriesInformation) {
  auto q = open_cake({u32("ack_filter", 2)});
  enqueue(*q, tcp(1, 1000, 100));                                       // data
  enqueue(*q, tcp(2, 1000, 0, {}, 81));                                 // another connection
  enqueue(*q, tcp(3, 1500, 0, {TcpSackBlock{5000, 6000}}));             // SACKs 5000-6000
  enqueue(*q, tcp(4, 2000));                                            // newer, no SACK: keeps 3
  EXPECT_EQ(global(*q, "ack_drops"), 0u);
  // SACKs 5000-7000, which covers 3's block: 3 and 4 are both redundant now; the oldest, 3, goes.
  enqueue(*q, tcp(5, 2000, 0, {TcpSackBlock{5000, 7000}}));
  EXPECT_EQ(global(*q, "ack_drops"), 1u);
  enqueue(*q, tcp(6, 1800, 0, {TcpSackBlock{5000, 7000}}));             // acks less than 4 and 5: both stay
  enqueue(*q, tcp(7, 1900, 0, {}, 80, 0x12));                           // SYN-ACK never triggers
  EXPECT_EQ(global(*q, "ack_drops"), 1u);
  // Connection 80's queue first (it was new first, and its small packets fit its quantum).
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{1, 4, 5, 6, 7, 2}));
  expect_empty_and_clean(q);

  auto off = open_cake({u32("ack_filter", 0)});
  for (uint32_t i = 1; i <= 4; ++i) enqueue(*off, tcp(i, 1000 * i));
  EXPECT_EQ(drain(*off), (std::vector<uint32_t>{1, 2, 3, 4}));
  expect_empty_and_clean(off);
}

// ---- overflow ----

// Over memlimit, cake_drop takes the head of the queue with the largest backlog (any queue, not
// the arriving packet's); when that is the arriving packet itself, the enqueue reports CN.
TEST_F(Cake, OverflowDropsFromTheFattestFlow) {
  auto q = open_cake({u32("memlimit", 10000), u32("diffserv", kBesteffort), u32("flowmode", kFlows)});
  EXPECT_EQ(global(*q, "buffer_limit"), 10000u);
  for (uint32_t i = 1; i <= 6; ++i) ASSERT_EQ(enqueue(*q, udp(1000, 10 + i, 1000)), EnqueueVerdict::Queued);  // A
  for (uint32_t i = 1; i <= 2; ++i) ASSERT_EQ(enqueue(*q, udp(1000, 20 + i, 2000)), EnqueueVerdict::Queued);  // B
  for (uint32_t i = 1; i <= 2; ++i) ASSERT_EQ(enqueue(*q, udp(1000, 30 + i, 3000)), EnqueueVerdict::Queued);  // C
  EXPECT_EQ(global(*q, "buffer_used"), 10000u);
  // B's third packet: 11000 bytes; A (6000) is the fattest: A's head (11) goes.
  EXPECT_EQ(enqueue(*q, udp(1000, 23, 2000)), EnqueueVerdict::Queued);
  EXPECT_EQ(global(*q, "overlimit_drops"), 1u);
  EXPECT_EQ(global(*q, "buffer_used"), 10000u);
  // A new queue D (1500 bytes): 11500 bytes; A (5000) is still the fattest and loses 12, which
  // leaves 10500, still over: A (4000) loses 13.
  EXPECT_EQ(enqueue(*q, udp(1500, 41, 4000)), EnqueueVerdict::Queued);
  EXPECT_EQ(global(*q, "overlimit_drops"), 3u);
  EXPECT_EQ(global(*q, "buffer_used"), 9500u);
  EXPECT_EQ(q->stats().drops(DropReason::ReleasedByProgram), 3u);
  const std::vector<uint32_t> sent = drain(*q);
  for (uint32_t dropped : {11u, 12u, 13u}) EXPECT_EQ(std::count(sent.begin(), sent.end(), dropped), 0) << dropped;
  EXPECT_EQ(sent.size(), 9u);
  expect_empty_and_clean(q);

  // The arriving packet is the fattest queue's only packet: it is the one dropped (CN).
  auto c = open_cake({u32("memlimit", 3000), u32("diffserv", kBesteffort), u32("flowmode", kFlows)});
  ASSERT_EQ(enqueue(*c, udp(1000, 1, 1000)), EnqueueVerdict::Queued);
  ASSERT_EQ(enqueue(*c, udp(1000, 2, 2000)), EnqueueVerdict::Queued);
  EXPECT_EQ(enqueue(*c, udp(1500, 3, 3000)), EnqueueVerdict::Congested);
  EXPECT_EQ(drain(*c), (std::vector<uint32_t>{1, 2}));
  expect_empty_and_clean(c);
}

// Conservation over a busy mixed run: every packet offered ends sent, dropped (COBALT, overflow,
// ACK filter) or queued, after every operation; a reset releases what is queued.
TEST_F(Cake, ConservesPacketsUnderEveryKindOfDrop) {
  auto q = open_cake({rate("bandwidth", kRate), u32("memlimit", 40000), u32("ack_filter", 2)});
  uint32_t mark = 1;
  for (int step = 0; step < 300; ++step) {
    Packet* p = step % 3 == 0 ? tcp(mark, 1000 * mark) : udp(1000, mark, static_cast<uint16_t>(1000 + step % 5), step % 4 == 0 ? 46 : 0);
    ++mark;
    q->enqueue(p, clock.now_ns());
    ASSERT_TRUE(q->stats().conserved());
    if (step % 2 == 0) {
      DequeueResult r = q->dequeue(clock.now_ns());
      if (r.kind == DequeueResult::Kind::Packet) PacketPool::release(r.packet);
      ASSERT_TRUE(q->stats().conserved());
    }
    clock.advance(700 * kUs);
  }
  const QdiscStats& s = q->stats();
  EXPECT_EQ(s.enqueued_packets, 300u);
  EXPECT_EQ(s.enqueued_packets, s.sent_packets + s.dropped + s.qlen);
  EXPECT_GT(s.dropped, 0u);
  EXPECT_EQ(s.qlen, global(*q, "qlen"));
  EXPECT_GT(global(*q, "ack_drops") + global(*q, "overlimit_drops") + global(*q, "cobalt_drops"), 0u);
  q->reset();
  EXPECT_EQ(q->stats().qlen, 0u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(global(*q, "qlen"), 0u);
  expect_clean_end(q);
}

}  // namespace
}  // namespace bpfq::sched::test
