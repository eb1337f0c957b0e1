// progs/hfsc.bpf.c against Linux's hfsc (sch_hfsc.c): real-time service by eligible time and
// deadline (exact times, psched ticks as Linux), the m1/d burst of a concave curve, link-sharing
// by the ls curves' rates between siblings and down a tree, the upper limit, the default class,
// drops of a full leaf, and conservation throughout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <stdexcept>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/sched/device.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/watchdog.hpp>

#include "engine/engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kMbit = 125'000;  // bytes/s
constexpr uint32_t k1_1 = 0x10001, k1_2 = 0x10002, k1_10 = 0x10010, k1_11 = 0x10011, k1_20 = 0x10020;

struct Curve {
  uint64_t m1 = 0, d = 0, m2 = 0;  // bytes/s, ns, bytes/s
};

// One `tc class add ... hfsc` line: parent is the parent's minor (0: under the qdisc).
struct ClassSpec {
  uint32_t classid;
  uint32_t parent = 0;
  Curve rt, ls, ul;
};

Curve rate(uint64_t m2) { return Curve{0, 0, m2}; }

// Linux's hfsc as a plain model (sch_hfsc.c, as docs/qdiscs/hfsc.md describes it), with its
// rbtrees as sorted vectors (an insert goes after equal keys): the oracle of the random script.
class Model {
 public:
  using Result = ModelStep;

  explicit Model(const std::vector<ClassSpec>& specs) {
    cls_.resize(1);  // the root
    for (const ClassSpec& s : specs) {
      Cls c;
      c.id = s.classid;
      if (s.rt.m1 || s.rt.m2) {
        c.flags |= kRsc;
        c.rsc = isc(s.rt);
        c.deadline = rtsc(c.rsc, 0, 0);
        c.eligible = c.deadline;
        if (c.rsc.sm1 <= c.rsc.sm2) c.eligible.dx = c.eligible.dy = 0;
      }
      if (s.ls.m1 || s.ls.m2) {
        c.flags |= kFsc;
        c.fsc = isc(s.ls);
        c.virt = rtsc(c.fsc, 0, 0);
      }
      if (s.ul.m1 || s.ul.m2) {
        c.flags |= kUsc;
        c.usc = isc(s.ul);
        c.ulimit = rtsc(c.usc, 0, 0);
      }
      cls_.push_back(c);
    }
    for (size_t i = 1; i < cls_.size(); ++i) {
      cls_[i].parent = 0;
      for (size_t j = 1; j < cls_.size(); ++j)
        if (specs[i - 1].parent && cls_[j].id == (0x10000u | specs[i - 1].parent)) cls_[i].parent = static_cast<int>(j);
    }
    for (size_t i = 1; i < cls_.size(); ++i) {
      int level = 1;
      for (int p = cls_[i].parent; p >= 0; p = cls_[p].parent, ++level) {
        cls_[p].level = std::max(cls_[p].level, level);
        if (p != 0 && !(cls_[p].flags & kFsc)) {
          cls_[p].fsc = cls_[p].rsc;
          cls_[p].virt = rtsc(cls_[p].fsc, 0, 0);
          cls_[p].flags |= kFsc;
        }
      }
    }
  }

  void enqueue(uint32_t classid, uint32_t len, uint32_t mark, uint64_t now_ns) {
    const int i = find(classid);
    Cls& c = cls_[i];
    const bool first = c.q.empty();
    c.q.push_back({len, mark});
    if (first && !in(el_, i) && !(c.parent >= 0 && in(cls_[c.parent].vt_tree, i))) {
      if (c.flags & kRsc) init_ed(i, len, now_ns >> 6);
      if (c.flags & kFsc) init_vf(i, now_ns >> 6);
    }
  }

  Result dequeue(uint64_t now_ns) {
    Result r;
    bool any = false;
    for (const Cls& c : cls_) any |= !c.q.empty();
    if (!any) return r;
    const uint64_t cur = now_ns >> 6;
    int pick = -1;
    for (int i : el_) {  // eltree_get_mindl
      if (cls_[i].e > cur) break;
      if (pick < 0 || cls_[i].d < cls_[pick].d) pick = i;
    }
    const bool realtime = pick >= 0;
    if (!realtime) pick = minvt(cur);
    if (pick < 0) {
      uint64_t next = el_.empty() ? 0 : cls_[el_.front()].e;
      if (cls_[0].cfmin != 0 && (next == 0 || next > cls_[0].cfmin)) next = cls_[0].cfmin;
      // the watchdog never wakes sooner than its slack
      if (next) r.until = std::max(next << 6, now_ns + Watchdog::kMinSlackNs);
      return r;
    }
    Cls& c = cls_[pick];
    const auto [len, mark] = c.q.front();
    c.q.pop_front();
    update_vf(pick, len);
    if (realtime) c.cumul += len;
    if (c.flags & kRsc) {
      if (!c.q.empty()) {
        if (realtime) {
          c.e = y2x(c.eligible, c.cumul);
          erase(el_, pick);
          insert_el(pick);
        }
        c.d = y2x(c.deadline, c.cumul + c.q.front().first);
      } else {
        erase(el_, pick);
      }
    }
    r.packet = true;
    r.mark = mark;
    return r;
  }

 private:
  static constexpr unsigned kRsc = 1, kFsc = 2, kUsc = 4;
  static constexpr uint64_t kTicks = 1'000'000'000 >> 6;
  struct ISc {
    uint64_t sm1 = 0, ism1 = 0, dx = 0, dy = 0, sm2 = 0, ism2 = 0;
  };
  struct RSc {
    uint64_t x = 0, y = 0, sm1 = 0, ism1 = 0, dx = 0, dy = 0, sm2 = 0, ism2 = 0;
  };
  struct Cls {
    uint32_t id = 0;
    int parent = -1, level = 0;
    unsigned flags = 0;
    ISc rsc, fsc, usc;
    RSc deadline, eligible, virt, ulimit;
    uint64_t total = 0, cumul = 0, d = 0, e = 0, vt = 0, f = 0, myf = 0, cfmin = 0, cvtmin = 0, cvtoff = 0,
             vtadj = 0, vtperiod = 0, parentperiod = 0;
    uint32_t nactive = 0;
    std::vector<int> vt_tree, cf_tree;  // the children's vt and cf trees, in order
    std::deque<std::pair<uint32_t, uint32_t>> q;
  };

  static uint64_t x2y_seg(uint64_t x, uint64_t sm) { return (x >> 24) * sm + (((x & ((1ull << 24) - 1)) * sm) >> 24); }
  static uint64_t y2x_seg(uint64_t y, uint64_t ism) {
    if (y == 0) return 0;
    if (ism == UINT64_MAX) return UINT64_MAX;
    return (y >> 14) * ism + (((y & ((1ull << 14) - 1)) * ism) >> 14);
  }
  static ISc isc(const Curve& c) {
    auto sm = [](uint64_t m) { return ((m << 24) + kTicks - 1) / kTicks; };
    auto ism = [](uint64_t m) { return m ? ((kTicks << 14) + m - 1) / m : UINT64_MAX; };
    ISc i;
    i.sm1 = sm(c.m1);
    i.ism1 = ism(c.m1);
    i.dx = ((c.d / 1000) * kTicks + 999'999) / 1'000'000;
    i.dy = x2y_seg(i.dx, i.sm1);
    i.sm2 = sm(c.m2);
    i.ism2 = ism(c.m2);
    return i;
  }
  static RSc rtsc(const ISc& i, uint64_t x, uint64_t y) { return RSc{x, y, i.sm1, i.ism1, i.dx, i.dy, i.sm2, i.ism2}; }
  static uint64_t y2x(const RSc& r, uint64_t y) {
    if (y < r.y) return r.x;
    if (y <= r.y + r.dy) return r.dy == 0 ? r.x + r.dx : r.x + y2x_seg(y - r.y, r.ism1);
    return r.x + r.dx + y2x_seg(y - r.y - r.dy, r.ism2);
  }
  static uint64_t x2y(const RSc& r, uint64_t x) {
    if (x <= r.x) return r.y;
    if (x <= r.x + r.dx) return r.y + x2y_seg(x - r.x, r.sm1);
    return r.y + r.dy + x2y_seg(x - r.x - r.dx, r.sm2);
  }
  static void rtsc_min(RSc& r, const ISc& i, uint64_t x, uint64_t y) {
    const uint64_t y1 = x2y(r, x);
    if (i.sm1 <= i.sm2) {
      if (y1 >= y) r.x = x, r.y = y;
      return;
    }
    if (y1 <= y) return;
    if (x2y(r, x + i.dx) >= y + i.dy) {
      r.x = x, r.y = y, r.dx = i.dx, r.dy = i.dy;
      return;
    }
    uint64_t dx = ((y1 - y) << 24) / (i.sm1 - i.sm2);
    if (r.x + r.dx > x) dx += r.x + r.dx - x;
    r.x = x, r.y = y, r.dx = dx, r.dy = x2y_seg(dx, i.sm1);
  }

  int find(uint32_t id) const {
    for (size_t i = 0; i < cls_.size(); ++i)
      if (cls_[i].id == id) return static_cast<int>(i);
    throw std::runtime_error("no class");
  }
  static bool in(const std::vector<int>& tree, int i) { return std::find(tree.begin(), tree.end(), i) != tree.end(); }
  static void erase(std::vector<int>& tree, int i) { tree.erase(std::find(tree.begin(), tree.end(), i)); }
  // An rbtree insert: after every element whose key is <= the new one's.
  template <class Key>
  void insert(std::vector<int>& tree, int i, Key key) {
    auto it = tree.begin();
    while (it != tree.end() && key(*it) <= key(i)) ++it;
    tree.insert(it, i);
  }
  void insert_el(int i) { insert(el_, i, [&](int k) { return cls_[k].e; }); }
  void insert_vt(int i) { insert(cls_[cls_[i].parent].vt_tree, i, [&](int k) { return cls_[k].vt; }); }
  void insert_cf(int i) { insert(cls_[cls_[i].parent].cf_tree, i, [&](int k) { return cls_[k].f; }); }
  // f = max(myf, cfmin), moved in the parent's cf tree; whether it changed.
  bool update_f(int i) {
    Cls& c = cls_[i];
    const uint64_t f = std::max(c.myf, c.cfmin);
    if (f == c.f) return false;
    c.f = f;
    erase(cls_[c.parent].cf_tree, i);
    insert_cf(i);
    return true;
  }
  void update_cfmin(int p) { cls_[p].cfmin = cls_[p].cf_tree.empty() ? 0 : cls_[cls_[p].cf_tree.front()].f; }

  void init_ed(int i, uint32_t len, uint64_t cur) {
    Cls& c = cls_[i];
    rtsc_min(c.deadline, c.rsc, cur, c.cumul);
    c.eligible = c.deadline;
    if (c.rsc.sm1 <= c.rsc.sm2) c.eligible.dx = c.eligible.dy = 0;
    c.e = y2x(c.eligible, c.cumul);
    c.d = y2x(c.deadline, c.cumul + len);
    insert_el(i);
  }

  void init_vf(int i, uint64_t cur) {
    bool go_active = true;
    for (; cls_[i].parent >= 0; i = cls_[i].parent) {
      Cls& c = cls_[i];
      Cls& p = cls_[c.parent];
      go_active = go_active && c.nactive++ == 0;
      if (go_active) {
        if (!p.vt_tree.empty()) {
          uint64_t vt = cls_[p.vt_tree.back()].vt;
          if (p.cvtmin != 0) vt = (p.cvtmin + vt) / 2;
          if (p.vtperiod != c.parentperiod || vt > c.vt) c.vt = vt;
        } else {
          c.vt = p.cvtoff;
          p.cvtmin = 0;
        }
        rtsc_min(c.virt, c.fsc, c.vt, c.total);
        c.vtadj = 0;
        c.vtperiod++;
        c.parentperiod = p.vtperiod;
        if (p.nactive == 0) c.parentperiod++;
        c.f = 0;
        insert_vt(i);
        insert_cf(i);
        if (c.flags & kUsc) {
          rtsc_min(c.ulimit, c.usc, cur, c.total);
          c.myf = y2x(c.ulimit, c.total);
        }
      }
      update_f(i);
      update_cfmin(c.parent);
    }
  }

  void update_vf(int i, uint32_t len) {
    bool go_passive = cls_[i].q.empty() && (cls_[i].flags & kFsc);
    for (; cls_[i].parent >= 0; i = cls_[i].parent) {
      Cls& c = cls_[i];
      Cls& p = cls_[c.parent];
      c.total += len;
      if (!(c.flags & kFsc) || c.nactive == 0) continue;
      go_passive = go_passive && --c.nactive == 0;
      c.vt = y2x(c.virt, c.total) + c.vtadj;
      if (c.vt < p.cvtmin) {
        c.vtadj += p.cvtmin - c.vt;
        c.vt = p.cvtmin;
      }
      if (go_passive) {
        p.cvtoff = std::max(p.cvtoff, c.vt);
        erase(p.vt_tree, i);
        erase(p.cf_tree, i);
        update_cfmin(c.parent);
        continue;
      }
      erase(p.vt_tree, i);
      insert_vt(i);
      if (c.flags & kUsc) c.myf = y2x(c.ulimit, c.total);
      if (update_f(i)) update_cfmin(c.parent);
    }
  }

  int minvt(uint64_t cur) {
    if (cls_[0].cfmin > cur) return -1;
    int i = 0;
    while (cls_[i].level > 0) {
      int fit = -1;
      for (int k : cls_[i].vt_tree)
        if (cls_[k].f <= cur) {
          fit = k;
          break;
        }
      if (fit < 0) return -1;
      cls_[i].cvtmin = std::max(cls_[i].cvtmin, cls_[fit].vt);
      i = fit;
    }
    return i;
  }

  std::vector<Cls> cls_;
  std::vector<int> el_;
};

class Hfsc : public ::testing::Test, public EngineFixture {
 protected:
  std::unique_ptr<BpfQdisc> open_hfsc(const std::vector<ClassSpec>& classes, uint32_t defcls = 0,
                                      uint32_t child_limit = 100000) {
    // qdisc/init builds the tree from the class maps.
    auto q = open_with_classes("hfsc", defcls, classes, child_limit);
    for (const ClassSpec& c : classes) {
      for (const auto& [name, curve] : {std::pair{"rt", c.rt}, {"ls", c.ls}, {"ul", c.ul}}) {
        set_class_param(*q, std::string("class_") + name + "_m1", c.classid, curve.m1);
        set_class_param(*q, std::string("class_") + name + "_d", c.classid, curve.d);
        set_class_param(*q, std::string("class_") + name + "_m2", c.classid, curve.m2);
      }
      set_class_param(*q, "class_parent", c.classid, uint64_t{c.parent});
    }
    q->init();
    return q;
  }

  // A packet of `len` bytes classified to `classid` by skb->priority, tagged by mark.
  EnqueueVerdict offer(BpfQdisc& q, uint32_t len, uint32_t mark, uint32_t classid) {
    const EnqueueVerdict v = q.enqueue(packet(len, mark, classid), clock.now_ns()).verdict;
    EXPECT_TRUE(q.stats().conserved());
    return v;
  }

  // Serves q as a link of rate_Bps would for `duration`: a departure holds the link for its
  // length at that rate, a THROTTLE moves the clock to the watchdog's time. Every leaf in
  // `leaves` starts with `depth` packets of len bytes and gets a new one when one leaves, so it
  // stays backlogged. Bytes sent per class after `warmup`.
  std::map<uint32_t, uint64_t> run_link(BpfQdisc& q, uint64_t rate_Bps, uint64_t duration, const std::vector<uint32_t>& leaves,
                                        uint32_t len, uint64_t warmup = 10 * kMs, uint32_t depth = 20) {
    uint32_t mark = 0;
    for (uint32_t leaf : leaves)
      for (uint32_t i = 0; i < depth; ++i) EXPECT_EQ(offer(q, len, ++mark, leaf), EnqueueVerdict::Queued);
    const uint64_t start = clock.now_ns(), end = start + duration;
    std::map<uint32_t, uint64_t> bytes;
    while (clock.now_ns() < end) {
      const DequeueResult r = q.dequeue(clock.now_ns());
      EXPECT_TRUE(q.stats().conserved());
      if (r.kind == DequeueResult::Kind::Throttled) {
        EXPECT_GT(r.throttled_until_ns, clock.now_ns());
        clock.set(r.throttled_until_ns);
        continue;
      }
      if (r.kind != DequeueResult::Kind::Packet) break;
      const uint32_t cls = r.packet->skb.priority;
      if (clock.now_ns() >= start + warmup) bytes[cls] += len;
      PacketPool::release(r.packet);
      EXPECT_EQ(offer(q, len, ++mark, cls), EnqueueVerdict::Queued);
      clock.advance(len * 1'000'000'000ull / rate_Bps);
    }
    return bytes;
  }

  // Mbit/s of each class over the measured part of a run_link of `duration`.
  static double mbit(const std::map<uint32_t, uint64_t>& bytes, uint32_t cls, uint64_t measured_ns) {
    auto it = bytes.find(cls);
    return it == bytes.end() ? 0.0 : double(it->second) * 8e3 / double(measured_ns);
  }

  struct ProgClassHead {
    uint32_t classid, parent, level, flags, usable, in_el, in_vt, nactive;
    uint64_t el_seq, vt_seq, total, cumul, d, e, vt, f, myf, cfmin, cvtmin, cvtoff, vtadj;
  };

  // The program's state of a class (struct hfsc_class's head).
  ProgClassHead state_of(BpfQdisc& q, uint32_t classid) {
    for (uint32_t slot = 0; slot < 64; ++slot) {
      std::vector<uint8_t> value(q.object().map("classes").spec().value_size);
      q.object().map("classes").lookup_copy(&slot, value.data());
      ProgClassHead c{};
      std::memcpy(&c, value.data(), sizeof c);
      if (c.classid == classid) return c;
    }
    ADD_FAILURE() << "no class " << std::hex << classid;
    return {};
  }
};

TEST_F(Hfsc, DefaultsAndRefusals) {
  auto q = open(library_object("hfsc"));
  EXPECT_EQ(q->object().get_global<uint32_t>("defcls"), 0u);
  q->object().set_global("defcls", uint32_t{0x10000});
  EXPECT_THROW(q->init(), Error);
}

// Two real-time classes (rt only: no link-sharing, so nothing is sent before it is eligible):
// 1:10 at 8mbit (1000 bytes a ms), 1:20 at 4mbit (one every 2 ms). The eligible class with the
// smallest deadline goes first; nothing eligible means THROTTLE until the smallest e.
TEST_F(Hfsc, RealTimeServesTheEligibleClassWithTheEarliestDeadline) {
  auto q = open_hfsc({{k1_10, 0, rate(8 * kMbit), {}, {}}, {k1_20, 0, rate(4 * kMbit), {}, {}}});
  for (uint32_t i = 1; i <= 4; ++i) ASSERT_EQ(offer(*q, 1000, 10 + i, k1_10), EnqueueVerdict::Queued);
  for (uint32_t i = 1; i <= 4; ++i) ASSERT_EQ(offer(*q, 1000, 20 + i, k1_20), EnqueueVerdict::Queued);
  const uint64_t t0 = clock.now_ns();
  uint64_t throttles = 0;
  const std::vector<Departure> out = run_until_empty(*q, 100, &throttles);
  // t0: both eligible, deadlines 1ms (1:10) and 2ms (1:20). 1ms: 1:10 (e 1, d 2). 2ms: 1:10
  // (e 2, d 3) before 1:20 (e 2, d 4). 3ms: 1:10. 4ms and 6ms: 1:20.
  const std::vector<Departure> want = {{11, t0},          {21, t0},          {12, t0 + kMs},     {13, t0 + 2 * kMs},
                                       {22, t0 + 2 * kMs}, {14, t0 + 3 * kMs}, {23, t0 + 4 * kMs}, {24, t0 + 6 * kMs}};
  EXPECT_EQ(out, want);
  EXPECT_EQ(throttles, 5u);
  EXPECT_EQ(state_of(*q, k1_10).cumul, 4000u);  // all of it by the real-time criterion
  EXPECT_EQ(state_of(*q, k1_20).total, 4000u);
  EXPECT_EQ(state_of(*q, k1_10).in_el, 0u);     // passive again
  expect_clean_end(q);
}

// A concave real-time curve, m1 16mbit for d 4ms then m2 4mbit: 1024-byte packets leave every
// 512us within the first 4ms (8000 bytes: 7 whole packets after the first), then one per 2.048ms
// on the m2 line that starts where the burst ended (4ms, 8000 bytes). A linear 4mbit curve
// sends one per 2.048ms from the start.
TEST_F(Hfsc, ConcaveCurveGivesMoreServiceInTheFirstD) {
  auto q = open_hfsc({{k1_10, 0, Curve{16 * kMbit, 4 * kMs, 4 * kMbit}, {}, {}}, {k1_20, 0, rate(4 * kMbit), {}, {}}});
  for (uint32_t i = 0; i < 12; ++i) ASSERT_EQ(offer(*q, 1024, 100 + i, k1_10), EnqueueVerdict::Queued);
  for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(offer(*q, 1024, 200 + i, k1_20), EnqueueVerdict::Queued);
  const uint64_t t0 = clock.now_ns();
  std::map<uint32_t, std::vector<uint64_t>> times;
  for (const Departure& d : run_until_empty(*q, 200)) times[d.mark / 100].push_back(d.at_ns - t0);
  ASSERT_EQ(times[1].size(), 12u);
  for (uint64_t k = 0; k < 8; ++k) EXPECT_EQ(times[1][k], k * 512'000) << k;
  for (uint64_t k = 8; k < 12; ++k) EXPECT_EQ(times[1][k], 4 * kMs + (k * 1024 - 8000) * 2'000) << k;
  EXPECT_EQ(times[2], (std::vector<uint64_t>{0, 2'048'000, 4'096'000}));
  expect_clean_end(q);
}

// Link-sharing: two siblings with ls 30mbit and 70mbit, both backlogged on a 100mbit link, share
// it 30/70 (within 2 %), however fast the link: ls curves give shares, not rates.
TEST_F(Hfsc, LinkSharingSharesBySiblingsCurves) {
  auto q = open_hfsc({{k1_10, 0, {}, rate(30 * kMbit), {}}, {k1_20, 0, {}, rate(70 * kMbit), {}}});
  const uint64_t duration = 300 * kMs, warmup = 10 * kMs;
  auto bytes = run_link(*q, 100 * kMbit, duration, {k1_10, k1_20}, 1000, warmup);
  EXPECT_NEAR(mbit(bytes, k1_10, duration - warmup), 30.0, 30.0 * 0.02);
  EXPECT_NEAR(mbit(bytes, k1_20, duration - warmup), 70.0, 70.0 * 0.02);
  expect_clean(*q);

  // On a 10mbit link the shares are the same: 3 and 7.
  auto slow = open_hfsc({{k1_10, 0, {}, rate(30 * kMbit), {}}, {k1_20, 0, {}, rate(70 * kMbit), {}}});
  bytes = run_link(*slow, 10 * kMbit, duration, {k1_10, k1_20}, 1000, warmup);
  EXPECT_NEAR(mbit(bytes, k1_10, duration - warmup), 3.0, 3.0 * 0.02);
  EXPECT_NEAR(mbit(bytes, k1_20, duration - warmup), 7.0, 7.0 * 0.02);
  expect_clean(*slow);
}

// Down a tree: 1:1 (ls 60) holds 1:10 and 1:11 (ls 1mbit each), 1:2 (ls 40) holds 1:20. The
// inner classes split 60/40 and 1:1's children split its share evenly: 30/30/40.
TEST_F(Hfsc, LinkSharingFollowsTheTree) {
  auto q = open_hfsc({{k1_1, 0, {}, rate(60 * kMbit), {}},
                      {k1_2, 0, {}, rate(40 * kMbit), {}},
                      {k1_10, 1, {}, rate(kMbit), {}},
                      {k1_11, 1, {}, rate(kMbit), {}},
                      {k1_20, 2, {}, rate(kMbit), {}}});
  const uint64_t duration = 300 * kMs, warmup = 10 * kMs;
  auto bytes = run_link(*q, 100 * kMbit, duration, {k1_10, k1_11, k1_20}, 1000, warmup);
  EXPECT_NEAR(mbit(bytes, k1_10, duration - warmup), 30.0, 30.0 * 0.02);
  EXPECT_NEAR(mbit(bytes, k1_11, duration - warmup), 30.0, 30.0 * 0.02);
  EXPECT_NEAR(mbit(bytes, k1_20, duration - warmup), 40.0, 40.0 * 0.02);
  EXPECT_EQ(state_of(*q, k1_1).level, 1u);
  EXPECT_EQ(state_of(*q, 0x10000).level, 2u);  // the root
  expect_clean(*q);
}

// Upper limit: 1:10 (ls 50mbit, ul 20mbit) and 1:20 (ls 50mbit) on a 100mbit link: 1:10 is held
// at 20mbit and 1:20 takes the rest. Alone on the link, 1:10 still gets only 20mbit.
TEST_F(Hfsc, UpperLimitCapsAClass) {
  const std::vector<ClassSpec> tree = {{k1_10, 0, {}, rate(50 * kMbit), rate(20 * kMbit)},
                                       {k1_20, 0, {}, rate(50 * kMbit), {}}};
  const uint64_t duration = 300 * kMs, warmup = 10 * kMs;
  auto q = open_hfsc(tree);
  auto bytes = run_link(*q, 100 * kMbit, duration, {k1_10, k1_20}, 1000, warmup);
  EXPECT_NEAR(mbit(bytes, k1_10, duration - warmup), 20.0, 20.0 * 0.02);
  EXPECT_NEAR(mbit(bytes, k1_20, duration - warmup), 80.0, 80.0 * 0.02);
  expect_clean(*q);

  auto alone = open_hfsc(tree);
  bytes = run_link(*alone, 100 * kMbit, duration, {k1_10}, 1000, warmup);
  EXPECT_NEAR(mbit(bytes, k1_10, duration - warmup), 20.0, 20.0 * 0.02);
  EXPECT_GT(alone->stats().overlimits, 0u);  // it waited for its fit time
  expect_clean(*alone);
}

// Real-time and link-sharing together (tc's `sc`): 1:10 sc 20mbit, 1:20 ls 10mbit, on a
// 100mbit link. The spare capacity is shared by the ls curves 2:1, and 1:10's guarantee is
// part of its ls service: 1:10 gets 2/3, 1:20 1/3.
TEST_F(Hfsc, RealTimeServiceCountsInLinkSharing) {
  auto q = open_hfsc({{k1_10, 0, rate(20 * kMbit), rate(20 * kMbit), {}}, {k1_20, 0, {}, rate(10 * kMbit), {}}});
  const uint64_t duration = 300 * kMs, warmup = 10 * kMs;
  auto bytes = run_link(*q, 100 * kMbit, duration, {k1_10, k1_20}, 1000, warmup);
  EXPECT_NEAR(mbit(bytes, k1_10, duration - warmup), 66.67, 66.67 * 0.02);
  EXPECT_NEAR(mbit(bytes, k1_20, duration - warmup), 33.33, 33.33 * 0.02);
  EXPECT_GT(state_of(*q, k1_10).cumul, 0u);  // some of it by the real-time criterion
  expect_clean(*q);
}

TEST_F(Hfsc, DefaultClassTakesUnclassifiedPackets) {
  const std::vector<ClassSpec> tree = {{k1_1, 0, {}, rate(10 * kMbit), {}},
                                       {k1_10, 1, {}, rate(kMbit), {}},
                                       {k1_20, 1, {}, rate(kMbit), {}}};
  auto q = open_hfsc(tree, 0x20);
  EXPECT_EQ(offer(*q, 100, 1, 0), EnqueueVerdict::Queued);        // no priority, no filter: 1:20
  EXPECT_EQ(offer(*q, 100, 2, 0x10099), EnqueueVerdict::Queued);  // no such class: 1:20
  EXPECT_EQ(offer(*q, 100, 3, k1_1), EnqueueVerdict::Queued);     // an inner class: 1:20
  EXPECT_EQ(offer(*q, 100, 4, k1_10), EnqueueVerdict::Queued);    // 1:10
  EXPECT_EQ(q->class_child(Handle(k1_20))->qlen(), 3u);
  EXPECT_EQ(q->class_child(Handle(k1_10))->qlen(), 1u);
  drain(*q);
  expect_clean_end(q);

  auto none = open_hfsc(tree);  // no default: unclassified packets are dropped
  EXPECT_EQ(offer(*none, 100, 1, 0), EnqueueVerdict::Dropped);
  EXPECT_EQ(offer(*none, 100, 2, k1_1), EnqueueVerdict::Dropped);  // inner classes hold no packets
  EXPECT_EQ(offer(*none, 100, 3, k1_20), EnqueueVerdict::Queued);
  EXPECT_EQ(drain(*none), (std::vector<uint32_t>{3}));
  EXPECT_EQ(none->stats().dropped, 2u);
  expect_clean_end(none);
}

// hfsc_classify's filter walk: the qdisc's filters may name a leaf, or an inner class whose own
// filters are asked next; a filter naming a class that is not below the one it is attached to
// ends the walk (Linux: "filter may only point downwards"), and so does no match: the default
// class then.
TEST_F(Hfsc, FiltersDescendThroughInnerClassesToALeaf) {
  DeviceTable devices;
  Device& eth0 = devices.add("eth0");
  auto root = open_hfsc({{k1_1, 0, {}, rate(kMbit), {}},
                         {k1_10, 1, {}, rate(kMbit), {}},
                         {k1_11, 1, {}, rate(kMbit), {}},
                         {k1_20, 0, {}, rate(kMbit), {}}},
                        0x20);
  root->set_classifier(devices.classifier());
  BpfQdisc* q = root.get();
  eth0.set_root(std::move(root));
  eth0.add_filter(Handle::make(1, 0), 1, dport_filter("22", "1:1"));   // an inner class: its filters next
  eth0.add_filter(Handle::make(1, 0), 2, dport_filter("25", "1:10"));  // a leaf
  eth0.add_filter(Handle::make(1, 0), 3, dport_filter("80", "1:1"));
  eth0.add_filter(Handle(k1_1), 1, dport_filter("22", "1:11"));
  eth0.add_filter(Handle(k1_1), 2, dport_filter("80", "1:1"));  // not below 1:1: the walk ends
  using V = EnqueueVerdict;
  EXPECT_EQ(eth0.transmit(tcp_packet(22, 1, 0), 0).verdict, V::Queued);      // 1: -> 1:1 -> 1:11
  EXPECT_EQ(eth0.transmit(tcp_packet(25, 2, 0), 0).verdict, V::Queued);      // 1: -> 1:10
  EXPECT_EQ(eth0.transmit(tcp_packet(80, 3, 0), 0).verdict, V::Queued);      // 1:1 -> 1:1: default 1:20
  EXPECT_EQ(eth0.transmit(tcp_packet(443, 4, 0), 0).verdict, V::Queued);     // no match: default 1:20
  EXPECT_EQ(eth0.transmit(tcp_packet(443, 5, k1_10), 0).verdict, V::Queued); // skb->priority first
  EXPECT_EQ(q->class_child(Handle(k1_11))->qlen(), 1u);
  EXPECT_EQ(q->class_child(Handle(k1_10))->qlen(), 2u);
  EXPECT_EQ(q->class_child(Handle(k1_20))->qlen(), 2u);
  EXPECT_EQ(drain_marks(eth0, 0).size(), 5u);
  expect_clean(*q);
  EXPECT_EQ(pool.in_use(), 0u);
}

// A full leaf (pfifo of 3) drops arrivals: counted as drops of the qdisc and forgotten by the
// program (it learns it from the child's length at its next run); enqueued == sent + dropped +
// queued after every operation.
TEST_F(Hfsc, DropsOfAFullLeafAreCountedAndForgotten) {
  auto q = open_hfsc({{k1_10, 0, {}, rate(kMbit), {}}, {k1_20, 0, {}, rate(kMbit), {}}}, 0, 3);
  for (uint32_t i = 1; i <= 10; ++i) offer(*q, 1000, i, k1_10);
  for (uint32_t i = 11; i <= 12; ++i) offer(*q, 1000, i, k1_20);
  EXPECT_EQ(q->class_child(Handle(k1_10))->stats().dropped, 7u);
  EXPECT_EQ(q->stats().dropped, 7u);
  EXPECT_EQ(q->stats().qlen, 5u);
  EXPECT_EQ(q->object().get_global<uint64_t>("qlen"), 5u);
  std::vector<uint32_t> marks = drain(*q);
  std::sort(marks.begin(), marks.end());
  EXPECT_EQ(marks, (std::vector<uint32_t>{1, 2, 3, 11, 12}));
  const QdiscStats& s = q->stats();
  EXPECT_EQ(s.enqueued_packets, 12u);
  EXPECT_EQ(s.sent_packets + s.dropped + s.qlen, 12u);
  EXPECT_EQ(state_of(*q, k1_10).in_vt, 0u);
  EXPECT_EQ(state_of(*q, k1_10).total, 3000u);
  expect_clean_end(q);
}

// A random script (classes in two levels with random rt, ls and ul curves, concave and convex,
// random packet sizes and times) against the model: the same packet, or the same throttle time,
// at every step.
TEST_F(Hfsc, RandomScriptMatchesTheModel) {
  std::mt19937 rng(16);
  auto r = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  auto curve = [&](bool may_be_absent) {
    if (may_be_absent && r(0, 2) == 0) return Curve{};
    Curve c{r(0, 1) ? r(1, 40) * kMbit : 0, r(0, 1) ? r(1, 20) * kMs : 0, r(1, 40) * kMbit};
    return c;
  };
  for (int round = 0; round < 4; ++round) {
    // 1:1 and 1:2 inner; 1:10, 1:11 under 1:1; 1:20 under 1:2; 1:30 under the root.
    std::vector<ClassSpec> tree = {{k1_1, 0, curve(true), curve(false), curve(true)},
                                   {k1_2, 0, {}, curve(false), {}},
                                   {k1_10, 1, curve(true), curve(true), {}},
                                   {k1_11, 1, curve(true), curve(false), curve(true)},
                                   {k1_20, 2, curve(false), curve(true), {}},
                                   {0x10030, 0, curve(false), {}, {}}};
    for (ClassSpec& c : tree)
      if (!(c.ls.m1 || c.ls.m2)) c.ul = {};  // tc refuses ul without ls
    tree[2].rt = tree[2].ls.m2 ? tree[2].rt : curve(false);
    auto q = open_hfsc(tree);
    Model model(tree);
    const uint32_t leaves[] = {k1_10, k1_11, k1_20, 0x10030};
    uint32_t mark = 0;
    for (int step = 0; step < 800; ++step) {
      clock.advance(r(0, 1) ? 0 : r(1, 2'000'000));
      if (r(0, 2) == 0) {
        const uint32_t leaf = leaves[r(0, 3)], len = static_cast<uint32_t>(r(60, 1514));
        ASSERT_EQ(offer(*q, len, ++mark, leaf), EnqueueVerdict::Queued);
        model.enqueue(leaf, len, mark, clock.now_ns());
        continue;
      }
      const DequeueResult got = q->dequeue(clock.now_ns());
      ASSERT_NO_FATAL_FAILURE(expect_model_step(got, model.dequeue(clock.now_ns()),
                                                "round " + std::to_string(round) + " step " + std::to_string(step)));
      ASSERT_TRUE(q->stats().conserved());
    }
    finish_scripted_run(q, 60'000 * kMs);
  }
}

}  // namespace
}  // namespace bpfq::sched::test
