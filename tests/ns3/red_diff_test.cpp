// red against ns-3's RedQueueDisc: which arrivals RED drops (or CE-marks) at enqueue.
//
// Only the deterministic part of RED is compared. The probabilistic region between min and max
// draws random numbers (bpf_get_prandom_u32 here, an ns-3 RNG stream there), so both sides get
// min == max: below the threshold every packet passes, at or above it every packet is dropped
// (Linux's "hard mark"; ns-3 with Gentle=false forces the drop). Both accept min == max.
//
// Matching the rest:
// - Byte mode: the program's child is a byte FIFO of `limit` bytes, ns-3 gets MaxSize in bytes,
//   so both average the backlog in bytes and tail-drop at backlog + len > limit.
// - EWMA weight: the program derives Wlog from min, burst and avpkt as tc does (min 15000,
//   burst 32, avpkt 1000 give Wlog 5); ns-3 gets QW = 2^-5 exactly.
// - Fixed point vs double: Linux's Wlog-scaled average truncates qavg >> Wlog at every step, so
//   it lies in [A, A + 1) bytes of the exact average A that ns-3 computes. The two decisions can
//   only differ when A falls in [T - 1, T); RedModel below replays each script and the tests
//   require that no arrival lands there (decisions away from the threshold).
// - Idle time: Linux decays the average through its stab table (powers of two), ns-3 by
//   (1 - W)^(link rate / mean packet size * idle). Both reach ~0 after a long idle period
//   (bandwidth 1 Gbit/s: Linux saturates at qavg >> 31 after 255 << Scell_log us, about 4 ms;
//   ns-3's factor is 1e-9 after 5 ms), so a pause lasts >= 5 ms. ns-3 restarts its idle clock
//   at every dequeue that finds the queue empty (Linux keeps the first), so a pause has exactly
//   one such dequeue. A short idle period (the queue found empty briefly) leaves each average
//   somewhere between 0 and its old value, and RedModel treats it as unknown in that range.
// - ns-3 never drops into an empty queue (its "nQueued > 1"); Linux does if qavg >= max. The
//   model flags such an arrival as ambiguous too.
#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "diff_test_util.hpp"

namespace bpfq::ns3diff::test {
namespace {

constexpr uint32_t kThreshold = 15'000;  // bytes: min == max
constexpr uint32_t kLimit = 40'000;      // bytes
constexpr uint32_t kWlog = 5;
constexpr double kW = 1.0 / (1u << kWlog);
constexpr uint64_t kLongIdleNs = 5'000'000;

// Replays a script the way both sides see it, keeping the interval [lo, hi] in which both
// averages lie, and counts arrivals whose decision that interval leaves open.
struct RedModel {
  double lo = 0, hi = 0;  // bytes
  std::deque<uint32_t> fifo;
  uint64_t backlog = 0;
  bool idle = true;
  uint64_t last_empty = 0;  // the latest dequeue that found the queue empty
  size_t ambiguous = 0;
  size_t arrivals_at_or_above = 0;  // decided above the threshold
  size_t drops = 0;
  double closest = 1e18;            // min distance of a known average from the threshold
  bool ecn = false;                 // above the threshold ECT packets are marked and queued

  void play(const Script& s) {
    for (const Op& op : s) apply(op);
  }

  void apply(const Op& op) {
    if (op.kind == Op::Kind::Enqueue) {
      enqueue(op.time_ns, op.pkt.frame_len, op.pkt.ecn == 1 || op.pkt.ecn == 2);
    } else if (!fifo.empty()) {
      backlog -= fifo.front();
      fifo.pop_front();
    } else {
      idle = true;
      last_empty = op.time_ns;  // ns-3 restarts its idle clock at every empty dequeue
    }
  }

  void enqueue(uint64_t now, uint32_t len, bool ect) {
    if (idle) {
      // Long idle: both decay to ~0; short: each side's average is anywhere in [0, old].
      lo = 0;
      if (now - last_empty >= kLongIdleNs) hi = 1e-3;
      idle = false;
    } else {
      lo = lo * (1 - kW) + static_cast<double>(backlog) * kW;
      hi = hi * (1 - kW) + static_cast<double>(backlog) * kW;
    }
    // ns-3 has the exact average in [lo, hi], Linux one in [lo, hi + 1).
    bool surely_below = hi + 1 < kThreshold;
    bool surely_above = lo >= kThreshold && backlog > 0;
    if (!surely_below && !surely_above) ++ambiguous;
    else if (lo == hi) closest = std::min(closest, std::abs(lo - kThreshold));
    if (surely_above) {
      ++arrivals_at_or_above;
      if (!(ecn && ect)) {
        ++drops;
        return;
      }
    }
    if (backlog + len > kLimit) {
      ++drops;
      return;
    }
    fifo.push_back(len);
    backlog += len;
  }
};

class RedDiff : public ::testing::Test, public DiffFixture {
 protected:
  std::unique_ptr<sched::BpfQdisc> make(bool ecn) {
    auto q = open_program("red", [&](runtime::Object& o) {
      o.set_global("limit", kLimit);
      o.set_global("min", kThreshold);
      o.set_global("max", kThreshold);
      o.set_global("avpkt", uint32_t{1000});
      o.set_global("burst", uint32_t{32});
      o.set_global("bandwidth", uint64_t{125'000'000});  // 1 Gbit/s
      o.set_global("ecn", uint32_t{ecn});
    });
    EXPECT_EQ(q->object().get_global<uint32_t>("wlog"), kWlog) << "tc's Wlog for burst 32";
    return q;
  }
  static Ns3QdiscSpec ns3_spec(bool ecn) {
    return ns3_qdisc("ns3::RedQueueDisc", {{"MaxSize", std::to_string(kLimit) + "B"},
                                           {"MinTh", std::to_string(kThreshold)},
                                           {"MaxTh", std::to_string(kThreshold)},
                                           {"QW", "0.03125"},
                                           {"Gentle", "false"},
                                           {"MeanPktSize", "1000"},
                                           {"LinkBandwidth", "1Gbps"},
                                           {"UseEcn", ecn ? "true" : "false"},
                                           {"UseHardDrop", ecn ? "false" : "true"}});
  }
  // Plays s on both sides after checking that no decision is near the threshold.
  Trace expect_red_agreement(const std::string& label, bool ecn, const Script& s) {
    RedModel model;
    model.ecn = ecn;
    model.play(s);
    EXPECT_EQ(model.ambiguous, 0u) << label << ": an arrival's average is within a byte of the "
                                   << "threshold or follows a short idle period near it";
    auto q = make(ecn);
    Trace t = expect_agreement(label, *q, s, ns3_spec(ecn));
    // The model tells the same story (so its margins are about these very decisions).
    EXPECT_EQ(t.totals.dropped, model.drops) << label;
    std::cout << "[differential] " << label << ": " << model.arrivals_at_or_above
              << " arrivals above the threshold; closest exact average " << model.closest
              << " B from it\n";
    return t;
  }
};

PacketSpec sized(uint32_t id, uint32_t len, uint8_t ecn = 0) {
  PacketSpec p;
  p.id = id;
  p.frame_len = len;
  p.ecn = ecn;
  return p;
}

// 1000-byte packets every 80 us, one dequeue every 100 us: the backlog grows by 1000 B every
// 400 us and the average follows it until it reaches 15000 B; from then on every arrival is
// dropped while the dequeues drain the backlog, and arrivals pass again once the average falls
// below the threshold.
void add_ramp(Script& s, uint64_t start, uint32_t first_id, uint32_t packets) {
  uint64_t t_arrive = start, t_dequeue = start + 50'000;
  for (uint32_t id = first_id; id < first_id + packets;) {
    if (t_arrive <= t_dequeue) {
      enqueue_at(s, t_arrive, sized(id++, 1000));
      t_arrive += 80'000;
    } else {
      dequeue_at(s, t_dequeue);
      t_dequeue += 100'000;
    }
  }
}

TEST_F(RedDiff, AverageCrossesTheThresholdAtTheSameArrival) {
  Script s;
  add_ramp(s, 1'000'000, 1, 300);
  Trace t = expect_red_agreement("red/ramp", false, s);
  // Hand computation: arrival k (0-based) sees a backlog of about k/5 packets; the average lags
  // the backlog by (1 - W)/W = 31 arrivals' growth (~6200 B), so it reaches 15000 B when the
  // backlog is ~21 packets, around arrival 105 (8.4 ms in).
  size_t first_drop = 0;
  for (const Event& e : t.events)
    if (e.kind == Event::Kind::Dropped) {
      first_drop = e.id;
      break;
    }
  EXPECT_GT(first_drop, 95u);
  EXPECT_LT(first_drop, 115u);
  EXPECT_GT(t.totals.dropped, 20u);
  // RED, not the byte limit, drops: the backlog stays far below 40000 B.
  EXPECT_LT(t.totals.queued_bytes, 25'000u);
}

TEST_F(RedDiff, LongIdlePeriodBringsTheAverageBackToZero) {
  // Ramp 1 (ids 1..200), drain with dequeues until one finds the queue empty (ns-3 restarts its
  // idle clock at every empty dequeue, Linux keeps the first: only one here), 12 ms idle, then
  // the same ramp again (ids 1001..1200): both averages start again from ~0, so the second ramp
  // drops the same arrivals as the first.
  Script s;
  add_ramp(s, 1'000'000, 1, 200);
  uint64_t t = s.back().time_ns;
  for (int i = 1; i <= 200; ++i) dequeue_at(s, t + i * 100'000);  // > the 200 queued at most
  // Keep only the dequeues up to the first empty one: RedModel tells when the queue empties.
  RedModel probe;
  size_t keep = 0;
  for (; keep < s.size(); ++keep) {
    bool empty_dequeue = s[keep].kind == Op::Kind::Dequeue && probe.fifo.empty();
    probe.apply(s[keep]);
    if (empty_dequeue && keep > 0 && s[keep].time_ns > t) break;
  }
  s.resize(keep + 1);
  add_ramp(s, s.back().time_ns + 12'000'000, 1001, 200);
  Trace tr = expect_red_agreement("red/idle", false, s);
  std::vector<uint32_t> first, second;
  for (const Event& e : tr.events)
    if (e.kind == Event::Kind::Dropped) (e.id < 1000 ? first : second).push_back(e.id % 1000);
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, second);
}

TEST_F(RedDiff, EcnCapablePacketsAreMarkedAboveTheThreshold) {
  // Alternating ECT(0) and Not-ECT: above the threshold ECT packets are marked and queued,
  // Not-ECT ones dropped (tc's ecn without harddrop; ns-3 UseEcn, UseHardDrop=false).
  Script s;
  uint64_t t_arrive = 1'000'000, t_dequeue = 1'050'000;
  for (uint32_t id = 1; id <= 400;) {
    if (t_arrive <= t_dequeue) {
      enqueue_at(s, t_arrive, sized(id, 1000, id % 2 ? 2 : 0));
      ++id;
      t_arrive += 80'000;
    } else {
      dequeue_at(s, t_dequeue);
      t_dequeue += 100'000;
    }
  }
  for (int i = 0; i < 200; ++i) dequeue_at(s, t_dequeue + i * 100'000);  // drain
  Trace t = expect_red_agreement("red/ecn", true, s);
  EXPECT_GT(t.marked(), 10u);
  EXPECT_GT(t.totals.dropped, 10u);
  for (const Event& e : t.events) {
    if (e.kind == Event::Kind::Dropped) {
      EXPECT_EQ(e.id % 2, 0u) << "an ECT packet was dropped";
    }
    if (e.kind == Event::Kind::Sent && e.ce) {
      EXPECT_EQ(e.id % 2, 1u) << "a Not-ECT packet was marked";
    }
  }
}

// Seeded phases of random-size arrivals at 1.1x to 2x the dequeue rate in packets (one dequeue
// per 100 us; ~790 B per arrival on average), without pauses: the queue only empties briefly
// when RED has been dropping everything, and RedModel rejects a seed where such a short idle
// period leaves a later decision open. The script ends with dequeues that drain the queue.
Script phased_script(uint64_t seed, bool ecn_mix, bool ecn) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  RedModel model;
  model.ecn = ecn;
  Script s;
  auto add = [&](const Op& op) {
    s.push_back(op);
    model.apply(op);
  };
  uint64_t t = 1'000'000, t_dequeue = 1'000'500;
  uint32_t id = 1;
  auto dequeues_until = [&](uint64_t until) {
    for (; t_dequeue < until; t_dequeue += 100'000) add(Op{t_dequeue, Op::Kind::Dequeue, {}});
  };
  auto drain = [&] {
    while (!model.fifo.empty()) dequeues_until(t_dequeue + 1);
    dequeues_until(t_dequeue + 1);  // finds the queue empty: the idle period starts
  };
  for (int phase = 0; phase < 8; ++phase) {
    uint64_t mean_gap = uniform(50'000, 88'000);  // ns between arrivals
    for (uint64_t n = uniform(150, 350); n > 0; --n) {
      t += uniform(mean_gap / 2, mean_gap * 3 / 2) | 1;  // odd: never on a dequeue tick
      dequeues_until(t);
      PacketSpec p = sized(id++, static_cast<uint32_t>(uniform(64, 1514)));
      if (ecn_mix) p.ecn = static_cast<uint8_t>(uniform(0, 2));
      add(Op{t, Op::Kind::Enqueue, p});
    }
  }
  drain();
  return s;
}

// The seeds are ones whose scripts RedModel finds free of ambiguous arrivals (most seeds cross
// the threshold often enough that some arrival lands within a byte of it).
TEST_F(RedDiff, RandomPhasesAgree) {
  for (uint64_t seed : {18, 19, 22}) {
    Trace t = expect_red_agreement("red/seed" + std::to_string(seed), false, phased_script(seed, false, false));
    EXPECT_GT(t.totals.dropped, 0u) << "the average must have reached the threshold";
  }
}

TEST_F(RedDiff, RandomPhasesWithEcnAgree) {
  for (uint64_t seed : {1, 3, 4}) {
    Trace t = expect_red_agreement("red/ecn-seed" + std::to_string(seed), true, phased_script(seed, true, true));
    EXPECT_GT(t.marked(), 0u);
    EXPECT_GT(t.totals.dropped, 0u);
  }
}

}  // namespace
}  // namespace bpfq::ns3diff::test
