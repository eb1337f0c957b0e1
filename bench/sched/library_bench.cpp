// Per-packet cost of every work-conserving discipline of the qdisc library: one enqueue + one
// dequeue with packets of `flows` different flows (UDP source ports, round robin) and one packet
// of each flow standing in the queue, against Linux's pfifo in native C++ in the same run.
// sfq (127 packets at most), shapers and schedulers that hold packets back (tbf, htb, hfsc, cbs, etf, taprio, carousel, netem) and
// the classful ones that need children (prio, drr, ets) are not in this table.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>
#include <bpfq/sched/packet_builder.hpp>

#include "../support/ratio_reporter.hpp"

namespace {

using namespace bpfq::sched;

constexpr uint32_t kLimit = 20000;

// Each discipline with the parameters that make it hold kLimit packets and drop none.
struct Discipline {
  const char* name;
  std::vector<std::pair<const char*, uint32_t>> params;
};
const std::vector<Discipline> kDisciplines = {
    {"pfifo", {{"limit", kLimit}}},       {"bfifo", {{"limit", 64u << 20}}},   {"pfifo_fast", {{"limit", kLimit}}},
    {"skbprio", {{"limit", kLimit}}},     {"codel", {{"limit", kLimit}}},
    {"fq_codel", {{"limit", kLimit}}},    {"fq_pie", {{"limit", kLimit}}},     {"pie", {{"limit", kLimit}}},
    {"fq", {{"limit", kLimit}}},          {"stfq", {{"limit", kLimit}}},       {"wf2q", {{"limit", kLimit}}},
    {"srpt", {{"limit", kLimit}}},        {"eiffel", {{"limit", kLimit}}},
    // cake unlimited (its default), one tin: COBALT never acts on a standing queue of one packet per flow.
    {"cake", {{"diffserv", 3}}},
    // RED's thresholds and Blue's bucket bounds out of reach: every packet is admitted.
    {"choke", {{"limit", kLimit}, {"min", kLimit}, {"max", kLimit}}},
    {"sfb", {{"limit", kLimit}, {"max", 65535}, {"target", 65535}}},
};

std::unique_ptr<Qdisc> make(const Discipline* d, PacketPool& pool, bpfq::runtime::Clock& clock) {
  if (!d) return std::make_unique<PfifoQdisc>(kLimit);
  auto q = BpfQdisc::open(std::string(BPFQ_BINARY_DIR) + "/progs/" + d->name + ".bpf.o", Handle::make(1, 0),
                          BpfQdiscEnv{&pool, &clock});
  for (const auto& [name, value] : d->params) q->object().set_global(name, value);
  q->init();
  return q;
}

// d == nullptr: the native pfifo baseline.
void BM_Flows(benchmark::State& state, const Discipline* d) {
  const auto flows = static_cast<uint32_t>(state.range(0));
  PacketPool pool(PacketPoolConfig{.packets = flows + 16});
  bpfq::runtime::ManualClock clock;
  auto q = make(d, pool, clock);
  std::vector<std::vector<uint8_t>> frames;  // built once: the loop measures the qdisc
  for (uint32_t f = 0; f < flows; ++f) {
    FrameSpec spec;
    spec.payload_len = 64;
    spec.sport = static_cast<uint16_t>(1024 + f);
    frames.push_back(build_frame(spec));
  }
  uint32_t next = 0;
  auto offer = [&] {
    Packet* pkt = pool.alloc();
    pkt->assign(frames[next]);
    next = next + 1 == flows ? 0 : next + 1;
    q->enqueue(pkt, clock.now_ns());
  };
  for (uint32_t i = 0; i < flows; ++i) offer();
  for (auto _ : state) {
    clock.advance(100);  // 100 ns a packet: 10k packets stand 1 ms, below every AQM target
    offer();
    DequeueResult r = q->dequeue(clock.now_ns());
    PacketPool::release(r.packet);
  }
  if (!q->stats().conserved() || q->stats().dropped != 0)
    state.SkipWithError("the qdisc dropped or lost packets: the comparison would not be per packet");
  q->reset();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> pairs;
  benchmark::RegisterBenchmark("Native/pfifo", BM_Flows, nullptr)->Arg(1)->Arg(100)->Arg(10000);
  for (const Discipline& d : kDisciplines) {
    const std::string name = std::string("Ebpf/") + d.name;
    benchmark::RegisterBenchmark(name.c_str(), BM_Flows, &d)->Arg(1)->Arg(100)->Arg(10000);
    for (const char* n : {"/1", "/100", "/10000"}) pairs.push_back({name + n, std::string("Native/pfifo") + n});
  }
  return bpfq::bench::run_with_ratios(argc, argv, pairs);
}
