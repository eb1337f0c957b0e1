// Per-packet cost of every discipline of the qdisc library (progs/*.bpf.c) and of the multi-queue
// roots: one enqueue + one dequeue with packets of `flows` different flows (UDP source ports
// 1024 + f, 106-byte frames) and one packet of each flow standing in the queue, against Linux's
// pfifo in native C++ in the same run (Native/pfifo).
//
// The flows are clocked by their departures, each with a window of one packet: the packet
// enqueued next belongs to the flow whose packet was dequeued last (for a FIFO that is round
// robin). Round-robin arrivals regardless of departures are not a steady state for the hashing
// fair queuers at 10k flows: a bucket shared by k flows (fq's 1024 orphan buckets, cake's 1024
// queues) receives k/10000 of the packets but 1/1024 of the service, grows, and after some 10^5
// packets drops (fq's flow_limit, COBALT).
//
// Every row is built the way a user builds it: tc lines of a setup file through the tc model
// (SetupPlan -> BuiltSetup), the root then driven through its Qdisc interface. The clock is
// virtual and moves 100 ns a packet (one packet of 106 bytes every 100 ns: about 8.5 Gbit/s
// offered), so a FIFO's 10k standing packets wait 1 ms, below every AQM target.
//
// The shapers and schedulers that may hold packets back are configured so that they never do in
// the measured loop (each row says how): they run their whole per-packet path (tokens, credits,
// gates, timestamps, wheels, service curves) but always find the head packet allowed to leave.
// After the loop every row is checked: each dequeue returned a packet, `flows` packets still
// stand, nothing was dropped or throttled anywhere in the tree (overlimits), counts are conserved
// and no program faulted; a row that fails is reported as an error, not measured as something
// else.
//
// Classful rows (prio, drr, ets, htb, hfsc, mq, mqprio) have native pfifo children
// (`native_pfifo`, the child a class gets by default), so the row is the classful program (or
// native root) plus the native children; flows are spread over the classes by u32 filters on the
// source port, as a user would classify them, so the filter walk is part of the cost.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/qdisc.hpp>
#include <bpfq/tc/built_setup.hpp>
#include <bpfq/tc/setup_plan.hpp>

#include "../support/ratio_reporter.hpp"

namespace {

using namespace bpfq::sched;

constexpr uint64_t kPacketGapNs = 100;
// After the setup is built and before the first packet: taprio's schedule starts at the first
// cycle boundary after init (1 ms cycle below); nothing else is affected by an idle millisecond.
constexpr uint64_t kSettleNs = 1'000'000;

struct Row {
  std::string name;   // "Ebpf/tbf"; Native/ for native roots
  std::string setup;  // tc lines, as in a setup file
  // etf: each packet's skb->tstamp (txtime) is its arrival time plus this (0: not stamped).
  uint64_t txtime_after_ns = 0;
  std::unique_ptr<bpfq::tc::SetupPlan> plan;  // built once in main(); null if it failed
  std::string error;                          // why the plan failed
};

std::string root(const std::string& spec) { return "qdisc add dev eth0 root handle 1: " + spec + "\n"; }

// One u32 filter per class: flow f (source port 1024 + f) goes to classes[f % classes.size()]
// (a power of two).
std::string sport_filters(const std::vector<std::string>& classes) {
  std::string s;
  char line[160];
  for (size_t i = 0; i < classes.size(); ++i) {
    std::snprintf(line, sizeof line,
                  "filter add dev eth0 parent 1: protocol ip prio %zu u32 match ip sport %zu %#zx classid %s\n", i + 1, i,
                  classes.size() - 1, classes[i].c_str());
    s += line;
  }
  return s;
}

// The classful rows' children hold up to 20000 packets (a class's pfifo takes the device's
// txqueuelen).
const std::string kLink = "link add dev eth0 txqueuelen 20000\n";
const std::string kLink4 = "link add dev eth0 txqueuelen 20000 numtxqueues 4\n";

std::vector<Row> rows() {
  std::vector<Row> r;
  auto add = [&](std::string name, std::string setup, uint64_t txtime = 0) {
    r.push_back(Row{std::move(name), std::move(setup), txtime, nullptr, {}});
  };
  add("Native/pfifo", root("native_pfifo limit 20000"));  // the baseline

  // Work-conserving, classless: each holds 20000 packets and drops none. fq (1024 orphan buckets:
  // bpfq's packets have no socket) serves a flow that was empty first, so at 10k flows the flows
  // alone in their bucket are served more often than the others.
  for (const char* name : {"fifo", "pfifo", "pfifo_fast", "skbprio", "codel", "fq_codel", "fq_pie", "pie", "fq", "stfq", "wf2q",
                           "srpt", "eiffel"})
    add(std::string("Ebpf/") + name, root(std::string(name) + " limit 20000"));
  add("Ebpf/bfifo", root("bfifo limit 64mb"));
  // cake unlimited (its default), one tin: COBALT never acts on a standing queue of one packet per
  // flow. Its default triple-isolate divides a queue's quantum by its host's bulk flows; every
  // flow here runs between the same two hosts, so at 10k flows (1024 queues) a queue earns about
  // 1.5 bytes a round and a packet takes some 70 queue visits, in Linux's cake as here.
  add("Ebpf/cake", root("cake besteffort"));
  // RED's thresholds and Blue's bucket bounds out of reach: every packet is admitted.
  add("Ebpf/choke", root("choke limit 20000 min 20000 max 20000"));
  add("Ebpf/sfb", root("sfb limit 20000 max 65535 target 65535"));
  // The average backlog (at most 10k x 106 bytes = 1.06 MB) stays below min: every packet is
  // admitted. burst sets Wlog small enough for max << Wlog to fit, as tc requires.
  add("Ebpf/red", root("red limit 64mb min 2mb max 4mb avpkt 1000 burst 2200"));
  // sfq holds 10k packets: limit 20000, depth 127 (its maximum) per slot, 1024 slots (its
  // maximum here) and 1024 hash buckets. At 10k flows the flows share the 1024 buckets (about 10
  // per slot, as sfq hashes them), so the 10k row is 10k flows in 1024 sfq queues.
  add("Ebpf/sfq", root("sfq limit 20000 depth 127 flows 1024 divisor 1024"));

  // Shapers and schedulers that can hold packets back, configured so that they never do.
  // tbf: 100 Gbit/s against 8.5 offered; the 64 KB bucket is always full.
  add("Ebpf/tbf", root("tbf rate 100gbit burst 64kb limit 64mb"));
  // cbs: a 100 Gbit/s port with half of it reserved (idleslope 50 Gbit/s = 50000000 kbit/s,
  // sendslope -50000000 kbit/s written as its two's complement, locredit -1514): a packet
  // spends 53 bytes of credit and 100 ns earn 625, so the credit never stays negative.
  add("Ebpf/cbs",
      root("cbs idleslope 50000000 sendslope 0xfd050f80 hicredit 1514 locredit 0xfffffa16 port_rate 100gbit limit 20000"));
  // etf: each packet's txtime is 2 ms after its arrival and delta is 5 ms, so it may leave at once
  // (now > txtime - delta) and cannot expire (it leaves within 1 ms).
  add("Ebpf/etf", root("etf delta 5ms"), 2'000'000);
  // taprio: two entries of 500 us (gates 0x3, then 0x1); every packet is traffic class 0
  // (priority 0, map all 0), whose gate is open in both, so it never closes and its budget is
  // unlimited. The schedule starts at the first cycle boundary after init (kSettleNs). (Checking
  // the qdisc line alone, before its classes, prints taprio's "no schedule entries" trace line.)
  add("Ebpf/taprio", root("taprio num_tc 2 port_rate 100gbit limit 20000") +
                         "class add dev eth0 parent 1: classid 1:1 gates 0x3 interval 500us\n"
                         "class add dev eth0 parent 1: classid 1:2 gates 0x1 interval 500us\n");
  // carousel: every flow limited to 100 Gbit/s (8 ns a packet, 100 ns apart at one flow), so
  // each packet's timestamp is its arrival time and its wheel slot is already due.
  add("Ebpf/carousel", root("carousel limit 20000 rate 100gbit"));
  // netem: delay 0 (its default), no loss: each packet's time to send is its arrival time.
  add("Ebpf/netem", root("netem limit 20000"));

  // Classful, with native pfifo children of 20000 packets.
  const std::vector<std::string> four = {"1:1", "1:2", "1:3", "1:4"};
  // prio: strict priority, so only band 1's flows (a quarter) are served; the others stand.
  add("Ebpf/prio", kLink + root("prio bands 4") + sport_filters(four));
  add("Ebpf/drr", kLink + root("drr") +
                      "class add dev eth0 parent 1: classid 1:1 drr quantum 1514\n"
                      "class add dev eth0 parent 1: classid 1:2 drr quantum 1514\n"
                      "class add dev eth0 parent 1: classid 1:3 drr quantum 1514\n"
                      "class add dev eth0 parent 1: classid 1:4 drr quantum 1514\n" +
                      sport_filters(four));
  add("Ebpf/ets", kLink + root("ets bands 4") + sport_filters(four));  // four DRR bands, quantum 1514
  // htb: a 100 Gbit/s root class with two 50 Gbit/s leaves that may borrow up to 100 Gbit/s;
  // even flows to 1:10 by a filter, the others to the default 1:20. Every leaf always has tokens.
  add("Ebpf/htb", kLink + root("htb defcls 0x20") +
                      "class add dev eth0 parent 1: classid 1:1 htb rate 100gbit\n"
                      "class add dev eth0 parent 1: classid 1:10 htb parent 0x1 rate 50gbit ceil 100gbit\n"
                      "class add dev eth0 parent 1: classid 1:20 htb parent 0x1 rate 50gbit ceil 100gbit\n"
                      "filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip sport 0 0x1 classid 1:10\n");
  // hfsc: a root class with ls and ul at 30 Gbit/s and two leaves with sc (rt and ls) at 15
  // Gbit/s, split as htb's: the curves exceed the 8.5 Gbit/s offered (all of it to one leaf at one
  // flow). Linux's curves are 32-bit bytes/s, 34 Gbit/s at most.
  add("Ebpf/hfsc", kLink + root("hfsc default 20") +
                       "class add dev eth0 parent 1: classid 1:1 hfsc ls rate 30gbit ul rate 30gbit\n"
                       "class add dev eth0 parent 1: classid 1:10 hfsc parent 0x1 sc rate 15gbit\n"
                       "class add dev eth0 parent 1: classid 1:20 hfsc parent 0x1 sc rate 15gbit\n"
                       "filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip sport 0 0x1 classid 1:10\n");

  // Multi-queue roots on 4 TX queues, flows on the queue skb_tx_hash picks. mq and mqprio are
  // native roots (no program), here with a native pfifo on every queue; mq_rbtree is the
  // seed's one-program version (one RBTREE per queue, 20000 packets each).
  std::string pfifo_children;
  for (int i = 1; i <= 4; ++i)
    pfifo_children += "qdisc add dev eth0 parent 1:" + std::to_string(i) + " native_pfifo limit 20000\n";
  add("Native/mq", kLink4 + root("mq") + pfifo_children);
  add("Native/mqprio", kLink4 + root("mqprio num_tc 1 map 0 queues 4@0 hw 0") + pfifo_children);
  add("Ebpf/mq_rbtree", kLink4 + root("mq_rbtree limit 20000"));
  return r;
}

// Where the UDP header's fields are in the loop's Ethernet + IPv4 frames.
constexpr size_t kUdpSport = 14 + 20, kUdpChecksum = kUdpSport + 6;

// The flow of one of the loop's packets: its UDP source port (which no row rewrites) less 1024.
uint32_t flow_of(const Packet& pkt) {
  const uint8_t* d = pkt.data();
  return ((uint32_t{d[kUdpSport]} << 8) | d[kUdpSport + 1]) - 1024u;
}

void build_plan(Row& row) {
  try {
    auto plan = std::make_unique<bpfq::tc::SetupPlan>();
    std::istringstream lines(row.setup);
    std::string text;
    for (int n = 1; std::getline(lines, text); ++n) {
      bpfq::tc::TcLine line = bpfq::tc::TcLine::split(text, row.name + ":" + std::to_string(n));
      plan->apply(line);
    }
    row.plan = std::move(plan);
  } catch (const std::exception& e) {
    row.error = e.what();
  }
}

// What the run must satisfy for its time to be a per-packet cost; "" if it does.
std::string check(bpfq::tc::BuiltSetup& setup, Qdisc& q, uint32_t flows, uint64_t misses) {
  if (misses) return std::to_string(misses) + " dequeues found no packet: the qdisc held packets back";
  if (q.qlen() != flows) return "qlen " + std::to_string(q.qlen()) + " at the end, not " + std::to_string(flows);
  for (const bpfq::tc::QdiscRow& r : setup.snapshot().qdiscs) {
    const std::string who = r.kind + " " + r.handle.to_string() + ": ";
    if (!r.stats.conserved()) return who + "counts not conserved";
    if (r.stats.dropped) return who + std::to_string(r.stats.dropped) + " packets dropped";
    if (r.stats.overlimits) return who + std::to_string(r.stats.overlimits) + " throttles";
    if (r.program_faults.value_or(0)) return who + "program faults: " + r.last_fault;
  }
  return {};
}

void BM_Flows(benchmark::State& state, const Row* row) {
  if (!row->plan) {
    state.SkipWithError(row->error.c_str());
    return;
  }
  const auto flows = static_cast<uint32_t>(state.range(0));
  // One frame, built once, whose UDP source port each packet gets rewritten: the loop touches
  // no per-flow memory of its own, only the qdisc does.
  FrameSpec spec;
  spec.payload_len = 64;
  spec.sport = 1024;
  std::vector<uint8_t> frame = build_frame(spec);
  if (frame.size() != 106 || frame[kUdpSport] != 1024 >> 8 || frame[kUdpSport + 1] != 0) {
    state.SkipWithError("the frame is not the 106-byte Ethernet + IPv4 + UDP frame the loop rewrites");
    return;
  }
  frame[kUdpChecksum] = frame[kUdpChecksum + 1] = 0;  // none (IPv4 allows it): a new port keeps it valid
  PacketPool pool(PacketPoolConfig{.packets = flows + 16});
  bpfq::runtime::ManualClock clock;
  std::unique_ptr<bpfq::tc::BuiltSetup> setup;
  try {
    setup = std::make_unique<bpfq::tc::BuiltSetup>(*row->plan, clock, pool);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  Qdisc& q = *setup->device("eth0").root();
  clock.advance(kSettleNs);
  auto offer = [&](uint32_t flow) {
    Packet* pkt = pool.alloc();
    if (!pkt) return false;  // only after 16 dequeues without a packet
    pkt->assign(frame);
    pkt->data()[kUdpSport] = static_cast<uint8_t>((1024 + flow) >> 8);
    pkt->data()[kUdpSport + 1] = static_cast<uint8_t>(1024 + flow);
    if (row->txtime_after_ns) pkt->skb.tstamp = clock.now_ns() + row->txtime_after_ns;
    q.enqueue(pkt, clock.now_ns());
    return true;
  };
  for (uint32_t f = 0; f < flows; ++f) offer(f);
  uint32_t next = 0;  // the flow that sends next
  uint64_t misses = 0;
  for (auto _ : state) {
    clock.advance(kPacketGapNs);
    if (!offer(next)) break;
    DequeueResult r = q.dequeue(clock.now_ns());
    if (!r.packet) {
      ++misses;
      continue;
    }
    next = flow_of(*r.packet);
    PacketPool::release(r.packet);
  }
  if (const std::string why = check(*setup, q, flows, misses); !why.empty()) state.SkipWithError(why.c_str());
  q.reset();
}

}  // namespace

int main(int argc, char** argv) {
  // The library programs built with this bench, whatever BPFQ_PROGS_PATH said.
  setenv("BPFQ_PROGS_PATH", BPFQ_BINARY_DIR "/progs", 1);
  // Defaults the command line may override (a later flag wins): 0.15 s a run, so that the whole
  // table at --benchmark_repetitions=3 takes about two minutes; and the repetitions of all rows
  // in random order, so that a burst of other work on a shared machine does not fall on every
  // repetition of the same rows.
  std::vector<char*> args(argv, argv + argc);
  static char min_time[] = "--benchmark_min_time=0.15";
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  args.insert(args.begin() + 1, {min_time, interleave});
  int args_count = static_cast<int>(args.size());
  args.push_back(nullptr);

  static std::vector<Row> table = rows();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (Row& row : table) {
    build_plan(row);
    benchmark::RegisterBenchmark(row.name.c_str(), BM_Flows, &row)->Arg(1)->Arg(100)->Arg(10000);
    if (row.name == "Native/pfifo") continue;
    for (const char* n : {"/1", "/100", "/10000"}) pairs.push_back({row.name + n, std::string("Native/pfifo") + n});
  }
  // Ratios of CPU time: the loop is one thread, and real time on a shared machine also counts the
  // time it waited for a core.
  return bpfq::bench::run_with_ratios(args_count, args.data(), pairs, bpfq::bench::Time::Cpu);
}
