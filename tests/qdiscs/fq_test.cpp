// progs/fq.bpf.c behaves as Linux's sch_fq (net/sched/sch_fq.c): round robin by byte credit
// (initial_quantum for a new flow, quantum per round), the fast path, EDT hold, maxrate pacing,
// horizon and flow_limit drops. Expected orders and times are worked out by hand from Linux's
// fq_enqueue/fq_dequeue in the comments.
#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

#include <bpfq/error.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kMs = 1'000'000;

class Fq : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> q = open(library_object("fq"));

  // A UDP packet of `flow` (its source port), frame_len bytes, tagged by mark.
  Packet* flow_packet(uint32_t flow, uint32_t frame_len, uint32_t mark, uint8_t ecn = 0) {
    FrameSpec spec;
    spec.payload_len = frame_len - 42;
    spec.sport = static_cast<uint16_t>(5000 + flow);
    spec.ecn = ecn;
    return frame(spec, mark);
  }

  EnqueueVerdict enqueue(Packet* pkt) { return q->enqueue(pkt, clock.now_ns()).verdict; }

  // Linux's fq sends the first packets into an empty qdisc through its fast-path queue (up to 8
  // while no flow has packets). Tests about flows first fill it with 8 packets of flow 99
  // (marks 900..907); they leave first.
  void fill_fast_path() {
    const uint64_t before = q->object().get_global<uint64_t>("stat_fastpath_packets");
    for (uint32_t i = 0; i < 8; ++i) ASSERT_EQ(enqueue(flow_packet(99, 100, 900 + i)), EnqueueVerdict::Queued);
    ASSERT_EQ(q->object().get_global<uint64_t>("stat_fastpath_packets"), before + 8);
  }

  // The program's per-flow state (struct fq_flow in progs/fq.bpf.c), read from its flow table.
  struct FlowState {
    uint32_t qlen;
    int32_t credit;
    uint32_t band, next;
    uint64_t time_next_packet, age;
    uint32_t allocated, detached, head_seq, tail_seq;
    uint64_t tail_tts;
    uint32_t t_count, t_min_seq;
    uint64_t t_min_tts;
  };
  FlowState flow_state(uint32_t flow) {
    Packet* pkt = flow_packet(flow, 100, 0);
    uint32_t index = pkt->get_hash() & 1023;
    PacketPool::release(pkt);
    FlowState state{};
    EXPECT_EQ(q->object().map("flow_table").lookup_copy(&index, &state), 0);
    return state;
  }
  static std::vector<uint32_t> fast_path_marks() { return {900, 901, 902, 903, 904, 905, 906, 907}; }

  // Flow table indices (hash & orphan_mask, default 1023) must differ for the flows a test uses.
  void expect_distinct_flows(std::initializer_list<uint32_t> flows) {
    std::set<uint32_t> ids;
    for (uint32_t flow : flows) {
      Packet* pkt = flow_packet(flow, 100, 0);
      ids.insert(pkt->get_hash() & 1023);
      PacketPool::release(pkt);
    }
    ASSERT_EQ(ids.size(), flows.size()) << "pick other ports: two test flows share a flow slot";
  }

  DequeueResult dequeue() { return q->dequeue(clock.now_ns()); }

  // Dequeues one packet and returns its mark (fails the test if there is none).
  uint32_t dequeue_mark() { return EngineFixture::dequeue_mark(*q); }

  template <typename T>
  T global(const char* name) { return q->object().get_global<T>(name); }

  void expect_clean_end() {
    EXPECT_EQ(q->qlen(), 0u);
    EXPECT_EQ(global<uint32_t>("qlen"), 0u);
    EngineFixture::expect_clean_end(q);
  }
};

TEST_F(Fq, FirstPacketsIntoAnEmptyQdiscTakeTheFastPathInArrivalOrder) {
  q->init();
  expect_distinct_flows({1, 2});
  // fq_fastpath_check: qlen == 0, or no flow has packets and the fast-path queue holds < 8.
  for (uint32_t i = 0; i < 8; ++i) ASSERT_EQ(enqueue(flow_packet(1 + i % 2, 200, i)), EnqueueVerdict::Queued);
  // The ninth finds 8 in the fast path: it creates its flow; the tenth sees an active flow.
  ASSERT_EQ(enqueue(flow_packet(2, 200, 8)), EnqueueVerdict::Queued);
  ASSERT_EQ(enqueue(flow_packet(1, 200, 9)), EnqueueVerdict::Queued);
  EXPECT_EQ(global<uint64_t>("stat_fastpath_packets"), 8u);
  EXPECT_EQ(global<uint32_t>("flows"), 2u);
  EXPECT_EQ(global<uint32_t>("inactive_flows"), 0u);
  // The fast path is served first; then flow 2 (new list first, created first), then flow 1.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(global<uint32_t>("inactive_flows"), 2u);
  EXPECT_EQ(q->stats().sent_packets, 10u);
  EXPECT_EQ(q->stats().sent_bytes, 2000u);
  expect_clean_end();
}

TEST_F(Fq, TwoFlowsShareByQuantumOfBytes) {
  q->object().set_global("quantum", uint32_t{1500});
  q->object().set_global("initial_quantum", uint32_t{1500});
  q->init();
  expect_distinct_flows({1, 2, 99});
  fill_fast_path();
  // Flow 1: six 500-byte packets (marks 1..6); flow 2: four 1500-byte packets (11..14).
  for (uint32_t i = 1; i <= 6; ++i) ASSERT_EQ(enqueue(flow_packet(1, 500, i)), EnqueueVerdict::Queued);
  for (uint32_t i = 11; i <= 14; ++i) ASSERT_EQ(enqueue(flow_packet(2, 1500, i)), EnqueueVerdict::Queued);
  // Both start on the new list with credit 1500. Flow 1 sends 1, 2, 3 (credit 1500 -> 0), is
  // refilled to 1500 and goes to the old list; flow 2 sends 11 (1500 -> 0), refilled, old list.
  // Old list [1, 2]: 4, 5, 6 | 12 | flow 1 empty: detached | 13 | 14: 1500 bytes per turn each.
  std::vector<uint32_t> expected = fast_path_marks();
  for (uint32_t m : {1, 2, 3, 11, 4, 5, 6, 12, 13, 14}) expected.push_back(m);
  EXPECT_EQ(drain(*q), expected);
  EXPECT_EQ(q->stats().sent_bytes, 8 * 100u + 6 * 500u + 4 * 1500u);
  expect_clean_end();
}

TEST_F(Fq, ANewFlowStartsWithInitialQuantumThenGetsQuantumPerRound) {
  q->object().set_global("quantum", uint32_t{1000});
  q->object().set_global("initial_quantum", uint32_t{3000});
  q->init();
  expect_distinct_flows({1, 2, 99});
  fill_fast_path();
  for (uint32_t i = 1; i <= 5; ++i) ASSERT_EQ(enqueue(flow_packet(1, 1000, i)), EnqueueVerdict::Queued);
  for (uint32_t i = 11; i <= 15; ++i) ASSERT_EQ(enqueue(flow_packet(2, 1000, i)), EnqueueVerdict::Queued);
  // initial_quantum 3000 = three 1000-byte packets each, then one packet (quantum) per round.
  std::vector<uint32_t> expected = fast_path_marks();
  for (uint32_t m : {1, 2, 3, 11, 12, 13, 4, 14, 5, 15}) expected.push_back(m);
  EXPECT_EQ(drain(*q), expected);
  EXPECT_EQ(global<uint32_t>("flows"), 2u);
  EXPECT_EQ(global<uint32_t>("inactive_flows"), 2u);
  expect_clean_end();
}

TEST_F(Fq, AFlowIdleLongerThanRefillDelayComesBackWithAtLeastAQuantum) {
  q->object().set_global("quantum", uint32_t{1000});
  q->object().set_global("initial_quantum", uint32_t{1500});
  q->init();
  expect_distinct_flows({1, 2, 99});
  static_assert(sizeof(FlowState) == 72);
  // Dequeues until the qdisc has nothing due; returns how many packets left.
  auto send_due = [&] {
    uint32_t sent = 0;
    for (DequeueResult r = dequeue(); r.kind == DequeueResult::Kind::Packet; r = dequeue(), ++sent)
      PacketPool::release(r.packet);
    return sent;
  };
  const uint64_t t0 = clock.now_ns();
  fill_fast_path();
  // Flow 2 holds one packet for 1 s: fq's dequeue returns at once when the qdisc is empty, so
  // only with a packet somewhere does it walk an emptied flow off its lists (detach it).
  Packet* later = flow_packet(2, 100, 50);
  later->skb.tstamp = t0 + 1000 * kMs;
  ASSERT_EQ(enqueue(later), EnqueueVerdict::Queued);
  ASSERT_EQ(enqueue(flow_packet(1, 1300, 1)), EnqueueVerdict::Queued);
  // Sent with credit 1500 -> 200; emptied, it passes through the old list and is detached.
  EXPECT_EQ(send_due(), 9u);
  FlowState f = flow_state(1);
  EXPECT_EQ(f.credit, 200);
  EXPECT_EQ(f.detached, 1u);
  EXPECT_EQ(f.age, t0);
  // Back exactly refill_delay (40 ms) later: not "after" it, the credit stays 200.
  clock.advance(40 * kMs);
  fill_fast_path();
  ASSERT_EQ(enqueue(flow_packet(1, 1300, 2)), EnqueueVerdict::Queued);
  EXPECT_EQ(flow_state(1).credit, 200);
  // 200 - 1300 = -1100; refilled twice by 1000 on the way through the old list: 900.
  EXPECT_EQ(send_due(), 9u);
  EXPECT_EQ(flow_state(1).credit, 900);
  // Back 1 ns after refill_delay: max(900, quantum 1000).
  clock.advance(40 * kMs + 1);
  fill_fast_path();
  ASSERT_EQ(enqueue(flow_packet(1, 1300, 3)), EnqueueVerdict::Queued);
  EXPECT_EQ(flow_state(1).credit, 1000);
  EXPECT_EQ(flow_state(1).detached, 0u);
  EXPECT_EQ(send_due(), 9u);
  clock.set(t0 + 1000 * kMs);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{50}));
  EXPECT_EQ(global<uint32_t>("flows"), 2u);
  expect_clean_end();
}

TEST_F(Fq, AnEdtPacketIsHeldUntilItsTimestamp) {
  q->init();
  const uint64_t t0 = clock.now_ns();
  Packet* pkt = flow_packet(1, 300, 1);
  pkt->skb.tstamp = t0 + 5000;
  // A future time_to_send never takes the fast path.
  ASSERT_EQ(enqueue(pkt), EnqueueVerdict::Queued);
  EXPECT_EQ(global<uint64_t>("stat_fastpath_packets"), 0u);
  // The flow's packet is not due: the flow is throttled until t0 + 5000.
  DequeueResult r = dequeue();
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 5000);
  EXPECT_EQ(q->watchdog_ns(), t0 + 5000);
  EXPECT_EQ(global<uint32_t>("throttled_flows"), 1u);
  EXPECT_EQ(global<uint64_t>("stat_throttled"), 1u);
  EXPECT_EQ(global<uint64_t>("time_next_delayed_flow"), t0 + 5000);
  clock.advance(4999);
  r = dequeue();
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 5000);
  clock.advance(1);
  EXPECT_EQ(dequeue_mark(), 1u);
  EXPECT_EQ(global<uint32_t>("throttled_flows"), 0u);
  EXPECT_EQ(dequeue().kind, DequeueResult::Kind::Empty);
  expect_clean_end();
}

TEST_F(Fq, OutOfOrderTimestampsOfAFlowLeaveInTimeOrder) {
  q->init();
  const uint64_t t0 = clock.now_ns();
  // Times 3000, 1000, 2000, 3000 ahead: the first is the linear list, the next two go to the
  // flow's rbtree (earlier than the tail), the last (equal to the tail) to the list again.
  const uint64_t ahead[] = {3000, 1000, 2000, 3000};
  for (uint32_t i = 0; i < 4; ++i) {
    Packet* pkt = flow_packet(1, 300, i + 1);
    pkt->skb.tstamp = t0 + ahead[i];
    ASSERT_EQ(enqueue(pkt), EnqueueVerdict::Queued);
  }
  std::vector<uint32_t> sent;
  std::vector<uint64_t> throttles;
  while (sent.size() < 4) {
    DequeueResult r = dequeue();
    if (r.kind == DequeueResult::Kind::Throttled) {
      throttles.push_back(r.throttled_until_ns - t0);
      clock.set(r.throttled_until_ns);
      continue;
    }
    ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
    sent.push_back(r.packet->skb.mark);
    PacketPool::release(r.packet);
  }
  EXPECT_EQ(sent, (std::vector<uint32_t>{2, 3, 1, 4}));
  // Each wait ends exactly at the next time_to_send; 1 and 4 share 3000.
  EXPECT_EQ(throttles, (std::vector<uint64_t>{1000, 2000, 3000}));
  expect_clean_end();
}

TEST_F(Fq, MaxrateBelowTheLowRateThresholdPacesEveryPacketByItsLength) {
  // 50000 B/s (400 kbit) <= low_rate_threshold (68750 B/s): credit is zeroed after each
  // packet and the gap is len / rate = 1000 * 1e9 / 50000 = 20 ms.
  q->object().set_global("maxrate", uint64_t{50000});
  q->init();
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 1; i <= 4; ++i) ASSERT_EQ(enqueue(flow_packet(1, 1000, i)), EnqueueVerdict::Queued);
  // maxrate disables the fast path.
  EXPECT_EQ(global<uint64_t>("stat_fastpath_packets"), 0u);
  EXPECT_EQ(dequeue_mark(), 1u);  // time_next_packet = t0 + 20 ms
  DequeueResult r = dequeue();
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 20 * kMs);
  clock.set(t0 + 20 * kMs);
  EXPECT_EQ(dequeue_mark(), 2u);  // on time: next at t0 + 40 ms
  r = dequeue();
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 40 * kMs);
  // Dequeued 3 ms late: Linux forgives the lateness (up to half the gap), next at 43 + 17 ms.
  clock.set(t0 + 43 * kMs);
  EXPECT_EQ(dequeue_mark(), 3u);
  r = dequeue();
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 60 * kMs);
  clock.set(t0 + 60 * kMs);
  EXPECT_EQ(dequeue_mark(), 4u);
  EXPECT_EQ(global<uint64_t>("stat_throttled"), 3u);
  expect_clean_end();
}

TEST_F(Fq, MaxrateAboveTheLowRateThresholdPacesPerQuantumOfCredit) {
  // Above the threshold a flow sends while its credit is positive; once spent, the gap is
  // max(len, quantum) / rate = 2000 * 1e9 / 1e6 = 2 ms.
  q->object().set_global("maxrate", uint64_t{1'000'000});
  q->object().set_global("quantum", uint32_t{2000});
  q->object().set_global("initial_quantum", uint32_t{2000});
  q->init();
  const uint64_t t0 = clock.now_ns();
  for (uint32_t i = 1; i <= 4; ++i) ASSERT_EQ(enqueue(flow_packet(1, 1000, i)), EnqueueVerdict::Queued);
  EXPECT_EQ(dequeue_mark(), 1u);  // credit 2000 -> 1000: still positive, no pacing
  EXPECT_EQ(dequeue_mark(), 2u);  // credit 0: time_next_packet = t0 + 2 ms
  DequeueResult r = dequeue();    // refilled to 2000, but not before t0 + 2 ms
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + 2 * kMs);
  clock.set(t0 + 2 * kMs);
  EXPECT_EQ(dequeue_mark(), 3u);
  EXPECT_EQ(dequeue_mark(), 4u);
  expect_clean_end();
}

TEST_F(Fq, PacketsBeyondTheHorizonAreDropped) {
  q->object().set_global("horizon", uint64_t{kMs});
  q->init();
  const uint64_t t0 = clock.now_ns();
  Packet* at_horizon = flow_packet(1, 300, 1);
  at_horizon->skb.tstamp = t0 + kMs;
  Packet* beyond = flow_packet(1, 300, 2);
  beyond->skb.tstamp = t0 + kMs + 1;
  EXPECT_EQ(enqueue(at_horizon), EnqueueVerdict::Queued);
  EXPECT_EQ(enqueue(beyond), EnqueueVerdict::Dropped);
  EXPECT_EQ(global<uint64_t>("stat_horizon_drops"), 1u);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 1u);
  EXPECT_EQ(q->stats().dropped_bytes, 300u);
  clock.set(t0 + kMs);
  EXPECT_EQ(dequeue_mark(), 1u);
  expect_clean_end();
}

TEST_F(Fq, HorizonCapMovesTheTimestampToTheHorizon) {
  q->object().set_global("horizon", uint64_t{kMs});
  q->object().set_global("horizon_drop", uint32_t{0});
  q->init();
  const uint64_t t0 = clock.now_ns();
  Packet* pkt = flow_packet(1, 300, 1);
  pkt->skb.tstamp = t0 + 50 * kMs;
  EXPECT_EQ(enqueue(pkt), EnqueueVerdict::Queued);
  EXPECT_EQ(global<uint64_t>("stat_horizon_caps"), 1u);
  EXPECT_EQ(global<uint64_t>("stat_horizon_drops"), 0u);
  DequeueResult r = dequeue();
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(r.throttled_until_ns, t0 + kMs);
  clock.set(t0 + kMs);
  r = dequeue();
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.tstamp, t0 + kMs);
  PacketPool::release(r.packet);
  expect_clean_end();
}

TEST_F(Fq, FlowLimitDropsOnlyTheFullFlow) {
  q->object().set_global("flow_limit", uint32_t{3});
  q->init();
  expect_distinct_flows({1, 2, 99});
  fill_fast_path();  // the fast-path queue has no per-flow limit
  std::vector<EnqueueVerdict> verdicts;
  for (uint32_t i = 1; i <= 5; ++i) verdicts.push_back(enqueue(flow_packet(1, 400, i)));
  verdicts.push_back(enqueue(flow_packet(2, 400, 11)));
  EXPECT_EQ(verdicts, (std::vector<EnqueueVerdict>{EnqueueVerdict::Queued, EnqueueVerdict::Queued,
                                                   EnqueueVerdict::Queued, EnqueueVerdict::Dropped,
                                                   EnqueueVerdict::Dropped, EnqueueVerdict::Queued}));
  EXPECT_EQ(global<uint64_t>("stat_flows_plimit"), 2u);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 2u);
  EXPECT_EQ(q->qlen(), 8u + 3u + 1u);
  EXPECT_EQ(q->backlog(), 800u + 4 * 400u);
  std::vector<uint32_t> expected = fast_path_marks();
  for (uint32_t m : {1, 2, 3, 11}) expected.push_back(m);
  EXPECT_EQ(drain(*q), expected);
  // Drained, the flow takes packets again.
  EXPECT_EQ(enqueue(flow_packet(1, 400, 6)), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{6}));
  expect_clean_end();
}

TEST_F(Fq, LimitCountsPacketsPerBand) {
  q->object().set_global("limit", uint32_t{2});
  q->init();
  expect_distinct_flows({1, 2, 99});
  fill_fast_path();  // fast-path packets count in no band
  // priority 0 maps to band 1 and priority 6 (TC_PRIO_INTERACTIVE) to band 0 (default priomap).
  auto with_priority = [&](uint32_t flow, uint32_t mark, uint32_t priority) {
    Packet* pkt = flow_packet(flow, 200, mark);
    pkt->skb.priority = priority;
    return enqueue(pkt);
  };
  EXPECT_EQ(with_priority(1, 1, 0), EnqueueVerdict::Queued);
  EXPECT_EQ(with_priority(1, 2, 0), EnqueueVerdict::Queued);
  EXPECT_EQ(with_priority(1, 3, 0), EnqueueVerdict::Dropped);
  EXPECT_EQ(with_priority(2, 4, 6), EnqueueVerdict::Queued);
  EXPECT_EQ((global<std::array<uint64_t, 3>>("stat_band_drops")), (std::array<uint64_t, 3>{0, 1, 0}));
  EXPECT_EQ((global<std::array<uint32_t, 3>>("band_pkt_count")), (std::array<uint32_t, 3>{1, 2, 0}));
  EXPECT_EQ(drain(*q).size(), 8u + 3u);
  EXPECT_EQ((global<std::array<uint32_t, 3>>("band_pkt_count")), (std::array<uint32_t, 3>{0, 0, 0}));
  expect_clean_end();
}

TEST_F(Fq, LateEctPacketsAreMarkedAboveCeThreshold) {
  q->object().set_global("ce_threshold", uint64_t{1000});
  q->init();
  expect_distinct_flows({1, 99});
  fill_fast_path();
  ASSERT_EQ(enqueue(flow_packet(1, 300, 1, /*ecn=ECT(0)*/ 2)), EnqueueVerdict::Queued);
  ASSERT_EQ(enqueue(flow_packet(1, 300, 2, 2)), EnqueueVerdict::Queued);
  for (uint32_t m : fast_path_marks()) EXPECT_EQ(dequeue_mark(), m);
  // Packet 1: dequeued 1000 ns after its time_to_send: not more than ce_threshold, unmarked.
  clock.advance(1000);
  DequeueResult r = dequeue();
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->bytes()[15] & 3, 2);  // IPv4 TOS byte: ECT(0) kept
  PacketPool::release(r.packet);
  // Packet 2: 1001 ns late: CE.
  clock.advance(1);
  r = dequeue();
  ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);
  EXPECT_EQ(r.packet->skb.mark, 2u);
  EXPECT_EQ(r.packet->bytes()[15] & 3, 3);
  PacketPool::release(r.packet);
  EXPECT_EQ(global<uint64_t>("stat_ce_mark"), 1u);
  expect_clean_end();
}

TEST_F(Fq, ResetReleasesEveryPacketAndStartsOver) {
  q->init();
  expect_distinct_flows({1, 2, 99});
  fill_fast_path();
  for (uint32_t i = 1; i <= 3; ++i) ASSERT_EQ(enqueue(flow_packet(1, 200, i)), EnqueueVerdict::Queued);
  Packet* later = flow_packet(2, 200, 4);
  later->skb.tstamp = clock.now_ns() + kMs;
  ASSERT_EQ(enqueue(later), EnqueueVerdict::Queued);
  q->reset();
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 12u);
  EXPECT_EQ(global<uint32_t>("flows"), 0u);
  EXPECT_EQ(global<uint64_t>("time_next_delayed_flow"), ~uint64_t{0});
  ASSERT_EQ(enqueue(flow_packet(1, 200, 5)), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{5}));
  expect_clean_end();
}

TEST_F(Fq, ManyFlowsOverManyRoundsConserveEveryPacket) {
  q->object().set_global("quantum", uint32_t{600});
  q->object().set_global("initial_quantum", uint32_t{600});
  q->init();
  // 40 flows (some share a slot: hash & 1023), sizes 100..1400, drained while arriving.
  uint32_t mark = 0, sent = 0;
  for (int round = 0; round < 30; ++round) {
    for (uint32_t flow = 0; flow < 40; ++flow) enqueue(flow_packet(flow, 100 + (flow * 37 + round * 11) % 1301, mark++));
    for (int i = 0; i < 30; ++i) {
      DequeueResult r = dequeue();
      ASSERT_EQ(r.kind, DequeueResult::Kind::Packet);  // nothing is paced: always a packet
      PacketPool::release(r.packet);
      ++sent;
    }
    ASSERT_TRUE(q->stats().conserved());
  }
  EXPECT_EQ(q->stats().dropped, 0u);
  EXPECT_EQ(q->qlen(), 1200u - sent);
  sent += static_cast<uint32_t>(drain(*q).size());
  EXPECT_EQ(sent, 1200u);
  expect_clean_end();
}

TEST_F(Fq, InitRefusesAnOrphanMaskBeyondTheFlowTable) {
  q->object().set_global("orphan_mask", uint32_t{16384});
  try {
    q->init();
    FAIL() << "init accepted orphan_mask 16384";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("qdisc/init returned 1"), std::string::npos) << e.what();
  }
  ASSERT_EQ(trace.lines().size(), 1u);
  EXPECT_EQ(trace.lines()[0], "fq: orphan_mask 16384 must be below 16384 (the flow table)");
}

}  // namespace
}  // namespace bpfq::sched::test
