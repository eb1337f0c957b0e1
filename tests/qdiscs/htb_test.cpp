// progs/htb.bpf.c against Linux's htb (sch_htb.c): per-class rates and borrowing up to ceil
// along the class tree, prio order, DRR among leaves, the default class, bursts, the three
// class modes, THROTTLE until the earliest mode change, and a random script against a plain
// model of Linux's algorithm (levels, lenders, charges of tokens/ctokens, deficits).
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>

#include <bpfq/error.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kMbit = 125'000;  // bytes/s
constexpr uint32_t k1_1 = 0x10001, k1_2 = 0x10002, k1_10 = 0x10010, k1_11 = 0x10011, k1_20 = 0x10020,
                   k1_30 = 0x10030;

// One `tc class add ... htb` line: parent is the parent's minor (0: under the qdisc).
struct ClassSpec {
  uint32_t classid;
  uint32_t parent = 0;
  uint64_t rate = 0;
  uint64_t ceil = 0;
  uint32_t burst = 0, cburst = 0, prio = 0, quantum = 0;
};

// Linux's htb as a plain model (as docs/qdiscs/htb.md describes it): the oracle.
class Model {
 public:
  enum Mode { CantSend, MayBorrow, CanSend };
  using Result = ModelStep;

  Model(const std::vector<ClassSpec>& specs, uint64_t now, uint32_t r2q = 10) {
    for (const ClassSpec& s : specs) {
      Cls c;
      c.id = s.classid;
      c.rate = s.rate;
      c.ceil = s.ceil ? s.ceil : s.rate;
      const uint64_t burst = s.burst ? s.burst : c.rate / kSec + 1600;
      const uint64_t cburst = s.cburst ? s.cburst : c.ceil / kSec + 1600;
      c.buffer = c.tokens = static_cast<int64_t>(burst * kSec / c.rate);
      c.cbuffer = c.ctokens = static_cast<int64_t>(cburst * kSec / c.ceil);
      c.t_c = now;
      c.prio = std::min(s.prio, 7u);
      c.quantum = s.quantum ? s.quantum : std::clamp<uint64_t>(c.rate / r2q, 1000, 200000);
      cls_.push_back(c);
    }
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i].parent)
        for (size_t j = 0; j < specs.size(); ++j)
          if (cls_[j].id == (0x10000u | specs[i].parent)) {
            cls_[i].parent = static_cast<int>(j);
            cls_[j].leaf = false;
          }
    for (Cls& c : cls_) {
      int depth = 0;
      for (int p = c.parent; p >= 0; p = cls_[p].parent) ++depth;
      c.level = c.leaf ? 0 : 7 - depth;  // Linux: a root class is level 7, its children 6, ...
    }
  }

  void enqueue(uint32_t classid, uint32_t len, uint32_t mark) { find(classid).q.push_back({len, mark}); }

  Result dequeue(uint64_t now) {
    Result r;
    bool any = false;
    uint64_t min_wait = UINT64_MAX;
    for (Cls& c : cls_) {
      any |= !c.q.empty();
      const int64_t diff = std::min<int64_t>(now - c.t_c, 60 * kSec);
      c.wait = 0;
      if (c.ctokens + diff < 0) {
        c.mode = CantSend;
        c.wait = -(c.ctokens + diff);
      } else if (c.tokens + diff >= 0) {
        c.mode = CanSend;
      } else {
        c.mode = MayBorrow;
        c.wait = -(c.tokens + diff);
      }
      if (c.mode != CanSend) min_wait = std::min<uint64_t>(min_wait, c.wait);
    }
    if (!any) return r;
    // Candidates: backlogged leaves with a lender; the lowest (level, prio) first.
    uint32_t best = UINT32_MAX;
    std::vector<std::pair<size_t, uint32_t>> cand;
    for (size_t i = 0; i < cls_.size(); ++i) {
      if (!cls_[i].leaf || cls_[i].q.empty()) continue;
      const int level = lender_level(static_cast<int>(i));
      if (level < 0) continue;
      const uint32_t key = level * 8 + cls_[i].prio;
      cand.push_back({i, key});
      best = std::min(best, key);
    }
    if (best == UINT32_MAX) {
      r.until = now + min_wait;
      return r;
    }
    // Round robin by classid from the pointer of (level, prio).
    int pick = -1, first = -1;
    for (auto [i, key] : cand) {
      if (key != best) continue;
      if (first < 0 || cls_[i].id < cls_[first].id) first = static_cast<int>(i);
      if (cls_[i].id >= rr_[best] && (pick < 0 || cls_[i].id < cls_[pick].id)) pick = static_cast<int>(i);
    }
    if (pick < 0) pick = first;
    Cls& c = cls_[pick];
    const auto [len, mark] = c.q.front();
    c.q.pop_front();
    const uint32_t level = best / 8;
    rr_[best] = c.id;
    c.deficit[level] -= static_cast<int32_t>(len);
    if (c.deficit[level] < 0) {
      c.deficit[level] += c.quantum;
      rr_[best] = c.id + 1;
    }
    for (int p = pick; p >= 0; p = cls_[p].parent) {  // htb_charge_class
      Cls& a = cls_[p];
      const int64_t diff = std::min<int64_t>(now - a.t_c, 60 * kSec);
      if (a.level >= level) {
        a.tokens = std::min(a.tokens + diff, a.buffer) - static_cast<int64_t>(len * kSec / a.rate);
        if (a.tokens <= -int64_t(60 * kSec)) a.tokens = 1 - int64_t(60 * kSec);
      } else {
        a.tokens += diff;
      }
      a.ctokens = std::min(a.ctokens + diff, a.cbuffer) - static_cast<int64_t>(len * kSec / a.ceil);
      if (a.ctokens <= -int64_t(60 * kSec)) a.ctokens = 1 - int64_t(60 * kSec);
      a.t_c = now;
    }
    r.packet = true;
    r.mark = mark;
    return r;
  }

 private:
  struct Cls {
    uint32_t id = 0;
    int parent = -1;
    bool leaf = true;
    uint32_t level = 0, prio = 0, quantum = 0;
    uint64_t rate = 0, ceil = 0, t_c = 0;
    int64_t buffer = 0, cbuffer = 0, tokens = 0, ctokens = 0, wait = 0;
    Mode mode = CanSend;
    int32_t deficit[8] = {};
    std::deque<std::pair<uint32_t, uint32_t>> q;
  };

  Cls& find(uint32_t id) {
    for (Cls& c : cls_)
      if (c.id == id) return c;
    throw std::runtime_error("no class");
  }

  int lender_level(int i) const {
    for (int p = i; p >= 0; p = cls_[p].parent) {
      if (cls_[p].mode == CanSend) return static_cast<int>(cls_[p].level);
      if (cls_[p].mode == CantSend) return -1;
    }
    return -1;
  }

  std::vector<Cls> cls_;
  uint32_t rr_[64] = {};
};

// The program's class state (struct htb_class), to read the modes.
struct ProgClass {
  uint32_t classid, parent, level, leaf, prio, quantum, mode, usable;
  uint64_t rate, ceil;
  int64_t buffer, cbuffer, tokens, ctokens;
  uint64_t t_c, wait, head, tail;
  int32_t deficit[8];
};

class Htb : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> open_htb(const std::vector<ClassSpec>& classes, uint32_t defcls = 0,
                                     uint32_t child_limit = 100000) {
    auto q = open_with_classes("htb", defcls, classes, child_limit);
    for (const ClassSpec& c : classes) {
      set_class_param(*q, "class_rate", c.classid, c.rate);
      set_class_param(*q, "class_ceil", c.classid, c.ceil);
      set_class_param(*q, "class_burst", c.classid, c.burst);
      set_class_param(*q, "class_cburst", c.classid, c.cburst);
      set_class_param(*q, "class_prio", c.classid, c.prio);
      set_class_param(*q, "class_quantum", c.classid, c.quantum);
      set_class_param(*q, "class_parent", c.classid, c.parent);
    }
    q->init();
    return q;
  }

  EnqueueVerdict offer(BpfQdisc& q, uint32_t len, uint32_t mark, uint32_t classid) {
    return q.enqueue(packet(len, mark, classid), clock.now_ns()).verdict;
  }

  uint32_t mode_of(BpfQdisc& q, uint32_t classid) {
    for (uint32_t slot = 0; slot < 64; ++slot) {
      ProgClass c{};
      q.object().map("classes").lookup_copy(&slot, &c);
      if (c.classid == classid) return c.mode;
    }
    ADD_FAILURE() << "no class " << std::hex << classid;
    return ~0u;
  }

  // Bytes each class (by mark / 1000000) sent in [from, to) of the departures.
  static std::map<uint32_t, uint64_t> bytes_by_class(const std::vector<Departure>& out, uint64_t from, uint64_t to,
                                                     uint32_t len) {
    std::map<uint32_t, uint64_t> bytes;
    for (const Departure& d : out)
      if (d.at_ns >= from && d.at_ns < to) bytes[d.mark / 1000000] += len;
    return bytes;
  }
};

TEST_F(Htb, DefaultsAndRefusals) {
  auto q = open(library_object("htb"));
  EXPECT_EQ(q->object().get_global<uint32_t>("r2q"), 10u);
  EXPECT_EQ(q->object().get_global<uint32_t>("defcls"), 0u);
  q->object().set_global("r2q", uint32_t{0});
  EXPECT_THROW(q->init(), Error);
  auto q2 = open(library_object("htb"));
  q2->object().set_global("defcls", uint32_t{0x10000});
  EXPECT_THROW(q2->init(), Error);
}

// The brief's tree: 1:1 100mbit; 1:10 30mbit ceil 100mbit, 1:20 70mbit ceil 100mbit.
std::vector<ClassSpec> thirty_seventy(uint32_t prio10 = 0, uint32_t prio20 = 0) {
  return {{k1_1, 0, 100 * kMbit, 0, 0, 0, 0, 0},
          {k1_10, 1, 30 * kMbit, 100 * kMbit, 0, 0, prio10, 0},
          {k1_20, 1, 70 * kMbit, 100 * kMbit, 0, 0, prio20, 0}};
}

TEST_F(Htb, BackloggedLeavesShareByRate) {
  auto q = open_htb(thirty_seventy());
  const uint32_t len = 1000;
  // Both stay backlogged over the window (the fixture's pool holds 512 packets).
  for (uint32_t i = 0; i < 125; ++i) ASSERT_EQ(offer(*q, len, 1000000 + i, k1_10), EnqueueVerdict::Queued);
  for (uint32_t i = 0; i < 285; ++i) ASSERT_EQ(offer(*q, len, 2000000 + i, k1_20), EnqueueVerdict::Queued);
  const uint64_t t0 = clock.now_ns();
  std::vector<Departure> out = run_until_empty(*q, 5000);
  // Over 30ms: 100mbit in all (375kB), 30% and 70% of it, to a packet or two.
  auto bytes = bytes_by_class(out, t0 + 1'000'000, t0 + 31'000'000, len);
  EXPECT_NEAR(double(bytes[1] + bytes[2]), 375'000.0, 2 * len);
  EXPECT_NEAR(double(bytes[1]), 112'500.0, 2 * len);
  EXPECT_NEAR(double(bytes[2]), 262'500.0, 2 * len);
  expect_clean_end(q);
}

// A full pfifo child drops the arrival; the program learns it from the child's queue length and
// forgets those packets: it hands out exactly what the children hold, then is empty.
TEST_F(Htb, PacketsAChildDroppedAreForgotten) {
  auto q = open_htb(thirty_seventy(), 0, 3);
  for (uint32_t i = 1; i <= 10; ++i) offer(*q, 1000, i, k1_10);
  for (uint32_t i = 11; i <= 12; ++i) offer(*q, 1000, i, k1_20);
  EXPECT_EQ(q->class_child(Handle(k1_10))->qlen(), 3u);
  EXPECT_EQ(q->class_child(Handle(k1_10))->stats().dropped, 7u);
  // Each enqueue trimmed the leaf's earlier drops; the last one is trimmed by the next dequeue.
  EXPECT_EQ(q->object().get_global<uint64_t>("qlen"), 3u + 2u + 1u);
  std::vector<uint32_t> marks;
  for (const Departure& d : run_until_empty(*q, 100)) marks.push_back(d.mark);
  std::sort(marks.begin(), marks.end());
  EXPECT_EQ(marks, (std::vector<uint32_t>{1, 2, 3, 11, 12}));
  EXPECT_EQ(q->object().get_global<uint64_t>("qlen"), 0u);
  // The leaf serves new arrivals again.
  offer(*q, 1000, 13, k1_10);
  ASSERT_EQ(run_until_empty(*q, 100).size(), 1u);
  expect_clean_end(q);
}

TEST_F(Htb, AnIdleSiblingLetsTheOtherBorrowUpToCeil) {
  std::vector<ClassSpec> tree = thirty_seventy();
  tree[1].ceil = 50 * kMbit;  // 1:10 may borrow up to 50mbit only
  auto q = open_htb(tree);
  const uint32_t len = 1000;
  for (uint32_t i = 0; i < 400; ++i) ASSERT_EQ(offer(*q, len, 1000000 + i, k1_10), EnqueueVerdict::Queued);
  const uint64_t t0 = clock.now_ns();
  std::vector<Departure> out = run_until_empty(*q, 5000);
  auto bytes = bytes_by_class(out, t0 + 1'000'000, t0 + 51'000'000, len);
  EXPECT_NEAR(double(bytes[1]), 312'500.0, 2 * len);  // 50mbit for 50ms: its ceil, not 30mbit
  expect_clean_end(q);

  // With ceil 100mbit it takes the whole parent.
  auto q2 = open_htb(thirty_seventy());
  for (uint32_t i = 0; i < 400; ++i) ASSERT_EQ(offer(*q2, len, 2000000 + i, k1_20), EnqueueVerdict::Queued);
  const uint64_t t1 = clock.now_ns();
  out = run_until_empty(*q2, 5000);
  bytes = bytes_by_class(out, t1 + 1'000'000, t1 + 31'000'000, len);
  EXPECT_NEAR(double(bytes[2]), 375'000.0, 2 * len);  // the parent's 100mbit
  expect_clean_end(q2);
}

TEST_F(Htb, LowerPrioValueFirstAmongClassesThatCanSend) {
  auto q = open_htb(thirty_seventy(/*prio10=*/1, /*prio20=*/0));
  for (uint32_t i = 1; i <= 3; ++i) ASSERT_EQ(offer(*q, 100, 10 + i, k1_10), EnqueueVerdict::Queued);
  for (uint32_t i = 1; i <= 3; ++i) ASSERT_EQ(offer(*q, 100, 20 + i, k1_20), EnqueueVerdict::Queued);
  // Both leaves hold 1600 bytes of burst: all six can send at once, prio 0 (1:20) first.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{21, 22, 23, 11, 12, 13}));
  expect_clean_end(q);
}

TEST_F(Htb, DrrAmongLeavesOfOnePrioByQuantum) {
  // Two leaves with large bursts (always CAN_SEND here), quanta 1000 and 2000, 500-byte packets.
  std::vector<ClassSpec> tree = {{k1_1, 0, 100 * kMbit, 0, 100000, 100000, 0, 0},
                                 {k1_10, 1, 50 * kMbit, 0, 100000, 100000, 0, 1000},
                                 {k1_20, 1, 50 * kMbit, 0, 100000, 100000, 0, 2000}};
  auto q = open_htb(tree);
  for (uint32_t i = 1; i <= 6; ++i) ASSERT_EQ(offer(*q, 500, 10 + i, k1_10), EnqueueVerdict::Queued);
  for (uint32_t i = 1; i <= 6; ++i) ASSERT_EQ(offer(*q, 500, 20 + i, k1_20), EnqueueVerdict::Queued);
  // Deficits start at 0: a leaf sends until its deficit goes below 0, then gets a quantum and
  // the pointer moves on. 1:10: 11 (-500 -> 500), then 1:20: 21 (-500 -> 1500), 1:10: 12 (0),
  // 13 (-500 -> 500), 1:20: 22 (1000), 23 (500), 24 (0), 25 (-500 -> 1500), 1:10: 14 (0),
  // 15 (-> 500), 1:20: 26, 1:10: 16.
  EXPECT_EQ(drain(*q), (std::vector<uint32_t>{11, 21, 12, 13, 22, 23, 24, 25, 14, 15, 26, 16}));
  expect_clean_end(q);
}

TEST_F(Htb, DefaultClassTakesUnclassifiedPackets) {
  auto q = open_htb(thirty_seventy(), 0x20);
  EXPECT_EQ(offer(*q, 100, 1, 0), EnqueueVerdict::Queued);         // no priority, no filter: 1:20
  EXPECT_EQ(offer(*q, 100, 2, 0x10099), EnqueueVerdict::Queued);   // no such class: 1:20
  EXPECT_EQ(offer(*q, 100, 3, k1_1), EnqueueVerdict::Queued);      // an inner class: 1:20
  EXPECT_EQ(offer(*q, 100, 4, k1_10), EnqueueVerdict::Queued);     // 1:10
  EXPECT_EQ(q->class_child(Handle(k1_20))->qlen(), 3u);
  EXPECT_EQ(q->class_child(Handle(k1_10))->qlen(), 1u);
  expect_clean(*q);
  drain(*q);
  expect_clean_end(q);

  auto none = open_htb(thirty_seventy());  // no default: unclassified packets are dropped
  EXPECT_EQ(offer(*none, 100, 1, 0), EnqueueVerdict::Dropped);
  EXPECT_EQ(offer(*none, 100, 2, k1_20), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*none), (std::vector<uint32_t>{2}));
  expect_clean_end(none);
}

TEST_F(Htb, BurstSendsBackToBackThenThePaceIsTheRate) {
  // One leaf at 8mbit (1 byte/us) with a 10000-byte burst under a fast root.
  std::vector<ClassSpec> tree = {{k1_1, 0, 1000 * kMbit, 0, 100000, 100000, 0, 0},
                                 {k1_10, 1, 8 * kMbit, 0, 10000, 10000, 0, 0}};
  auto q = open_htb(tree);
  for (uint32_t i = 1; i <= 14; ++i) ASSERT_EQ(offer(*q, 1000, i, k1_10), EnqueueVerdict::Queued);
  const uint64_t t0 = clock.now_ns();
  uint64_t throttles = 0;
  std::vector<Departure> out = run_until_empty(*q, 100, &throttles);
  ASSERT_EQ(out.size(), 14u);
  // tokens 10ms: packets 1..10 take 10ms at once, the 11th goes while tokens are still 0 (HTB
  // sends while tokens >= 0 and charges after): 11 at once, then one per ms.
  for (uint32_t i = 0; i < 11; ++i) EXPECT_EQ(out[i].at_ns, t0) << i;
  for (uint32_t i = 11; i < 14; ++i) EXPECT_EQ(out[i].at_ns, t0 + (i - 10) * 1'000'000) << i;
  EXPECT_EQ(throttles, 3u);
  expect_clean_end(q);
}

TEST_F(Htb, ThrottleUntilTheEarliestModeChange) {
  // 1:10 8mbit ceil 16mbit, burst/cburst 1000 bytes, under 1:1 at 8mbit: 1ms per 1000 bytes at
  // rate, 0.5ms at ceil.
  std::vector<ClassSpec> tree = {{k1_1, 0, 8 * kMbit, 0, 1000, 1000, 0, 0},
                                 {k1_10, 1, 8 * kMbit, 16 * kMbit, 1000, 1000, 0, 0}};
  auto q = open_htb(tree);
  for (uint32_t i = 1; i <= 4; ++i) ASSERT_EQ(offer(*q, 1000, i, k1_10), EnqueueVerdict::Queued);
  const uint64_t t0 = clock.now_ns();
  EXPECT_EQ(dequeue_mark(*q), 1u);  // tokens 1ms -> 0, ctokens 0.5ms -> 0; root tokens 0
  EXPECT_EQ(mode_of(*q, k1_10), 2u);  // (the mode seen by that dequeue) CAN_SEND
  EXPECT_EQ(dequeue_mark(*q), 2u);  // still >= 0: sends; tokens -1ms, ctokens -0.5ms, root -1ms
  DequeueResult r = q->dequeue(t0);
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(mode_of(*q, k1_10), 0u);  // HTB_CANT_SEND: ctokens < 0
  EXPECT_EQ(mode_of(*q, k1_1), 0u);   // HTB_CANT_SEND too (its ceil is its rate): -1ms
  // The earliest change: 1:10's ctokens reach 0 at +0.5ms (1:1's at +1ms).
  EXPECT_EQ(r.throttled_until_ns, t0 + 500'000);
  clock.set(t0 + 500'000);
  r = q->dequeue(clock.now_ns());  // 1:10 MAY_BORROW, its parent CANT_SEND: nobody lends
  ASSERT_EQ(r.kind, DequeueResult::Kind::Throttled);
  EXPECT_EQ(mode_of(*q, k1_10), 1u);
  EXPECT_EQ(r.throttled_until_ns, t0 + 1'000'000);
  clock.set(t0 + 1'000'000);
  EXPECT_EQ(dequeue_mark(*q), 3u);  // 1:10 CAN_SEND at its own rate (tokens 0)
  expect_clean(*q);
  drain(*q);
  clock.advance(10'000'000);
  drain(*q);
  expect_clean_end(q);
}

TEST_F(Htb, RandomScriptMatchesTheModel) {
  std::mt19937 rng(16);
  for (int round = 0; round < 3; ++round) {
    auto r = [&](uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); };
    // 1:1 root; 1:2 inner under it; leaves 1:10, 1:11 under 1:2, 1:20 under 1:1; 1:30 a root leaf.
    std::vector<ClassSpec> tree = {
        {k1_1, 0, r(10, 100) * kMbit, 0, r(0, 1) * r(1600, 20000), 0, 0, 0},
        {k1_2, 1, r(5, 60) * kMbit, 0, 0, r(0, 1) * 5000, 0, 0},
        {k1_10, 2, r(1, 30) * kMbit, 0, r(0, 1) * 3000, 0, r(0, 2), r(0, 1) * r(500, 3000)},
        {k1_11, 2, r(1, 30) * kMbit, 0, 0, 0, r(0, 2), r(0, 1) * r(500, 3000)},
        {k1_20, 1, r(1, 30) * kMbit, 0, 0, 0, r(0, 2), 0},
        {k1_30, 0, r(1, 30) * kMbit, 0, 0, 0, r(0, 2), 0}};
    for (ClassSpec& c : tree) c.ceil = r(0, 1) ? c.rate * r(1, 4) : 0;
    auto q = open_htb(tree);
    std::unique_ptr<Model> model;
    const uint32_t leaves[] = {k1_10, k1_11, k1_20, k1_30};
    uint32_t mark = 0;
    for (int step = 0; step < 600; ++step) {
      clock.advance(r(0, 1) ? 0 : r(1, 400'000));
      if (r(0, 2) == 0) {
        const uint32_t leaf = leaves[r(0, 3)], len = r(60, 1514);
        if (!model) model = std::make_unique<Model>(tree, clock.now_ns());
        ASSERT_EQ(offer(*q, len, ++mark, leaf), EnqueueVerdict::Queued);
        model->enqueue(leaf, len, mark);
        continue;
      }
      const DequeueResult got = q->dequeue(clock.now_ns());
      const Model::Result want = model ? model->dequeue(clock.now_ns()) : Model::Result{};
      ASSERT_NO_FATAL_FAILURE(
          expect_model_step(got, want, "round " + std::to_string(round) + " step " + std::to_string(step)));
      ASSERT_TRUE(q->stats().conserved());
    }
    finish_scripted_run(q, 60 * kSec);
  }
}

}  // namespace
}  // namespace bpfq::sched::test
