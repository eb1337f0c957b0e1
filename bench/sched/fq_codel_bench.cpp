// Per-packet cost of fq_codel: one enqueue + one dequeue with one packet standing in each of
// `flows` active flows, for progs/fq_codel.bpf.c against the native FqCodelQdisc, in the same run.
// Jit/: verified at open, run as machine code (the default); Interp/: verified, run on the
// interpreter without checks; Checked/: not verified, every access checked at run time;
// StructOps/: Linux 6.16's struct_ops fq_codel (progs/struct_ops/fq_codel.bpf.c: graph objects,
// verified at open and run on the JIT like the seed's). It finds flows by hash, not by
// skb->priority, so it is measured with one flow only, where the work is the same.
//
// Steady state: packets go to the flows round robin (skb->priority names the flow, so neither
// side hashes), and the virtual clock stands still, so every sojourn time is 0: CoDel runs its
// checks on every packet but never drops or marks, and the queue keeps exactly `flows` packets.
// Each flow holds one packet, so DRR sees sparse flows: a flow sends, is found empty on the next
// visit and leaves the lists, and comes back as a new flow with its next packet.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/fq_codel_qdisc.hpp>
#include <bpfq/sched/packet_builder.hpp>
#include <bpfq/sched/struct_ops_qdisc.hpp>

#include "../support/ratio_reporter.hpp"

namespace {

using namespace bpfq::sched;

constexpr Handle kHandle = Handle::make(1, 0);

enum class Kind { Native, Jit, Interp, Checked, StructOps };

std::unique_ptr<Qdisc> make(Kind kind, uint32_t flows, PacketPool& pool, bpfq::runtime::Clock& clock) {
  if (kind == Kind::Native) return std::make_unique<FqCodelQdisc>(FqCodelParams{.flows = flows}, kHandle);
  BpfQdiscEnv env{&pool, &clock};
  if (kind == Kind::StructOps) {
    auto q = StructOpsQdisc::open(std::string(BPFQ_BINARY_DIR) + "/progs/struct_ops/bpfq/fq_codel.bpf.o", kHandle, env);
    q->init();
    return q;
  }
  if (kind == Kind::Checked) env.verification = bpfq::runtime::Verification::Off;
  bpfq::runtime::set_default_backend(kind == Kind::Jit ? bpfq::exec::Backend::Jit : bpfq::exec::Backend::Interpreter);
  auto q = BpfQdisc::open(std::string(BPFQ_BINARY_DIR) + "/progs/fq_codel.bpf.o", kHandle, env);
  q->object().set_global("flows", flows);
  q->init();
  return q;
}

void BM_FqCodel(benchmark::State& state, Kind kind) {
  const auto flows = static_cast<uint32_t>(state.range(0));
  PacketPool pool(PacketPoolConfig{.packets = flows + 16});
  bpfq::runtime::ManualClock clock(1'000'000);
  auto q = make(kind, flows, pool, clock);
  FrameSpec spec;
  spec.payload_len = 64;
  const std::vector<uint8_t> frame = build_frame(spec);  // built once: the loop measures the qdisc
  uint32_t next_flow = 0;
  auto offer = [&] {
    Packet* pkt = pool.alloc();
    pkt->assign(frame);
    pkt->skb.priority = kHandle.value | (next_flow + 1);  // class 1:n is flow n-1
    next_flow = next_flow + 1 == flows ? 0 : next_flow + 1;
    q->enqueue(pkt, clock.now_ns());
  };
  for (uint32_t i = 0; i < flows; ++i) offer();
  for (auto _ : state) {
    offer();
    DequeueResult r = q->dequeue(clock.now_ns());
    PacketPool::release(r.packet);
  }
  if (q->stats().sent_packets != static_cast<uint64_t>(state.iterations()) || q->qlen() != flows ||
      q->stats().dropped != 0)
    state.SkipWithError("the qdisc did not forward every packet");
  q->reset();
}

BENCHMARK_CAPTURE(BM_FqCodel, native, Kind::Native)->Name("Native/fq_codel")->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK_CAPTURE(BM_FqCodel, jit, Kind::Jit)->Name("Jit/fq_codel")->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK_CAPTURE(BM_FqCodel, interp, Kind::Interp)->Name("Interp/fq_codel")->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK_CAPTURE(BM_FqCodel, checked, Kind::Checked)->Name("Checked/fq_codel")->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK_CAPTURE(BM_FqCodel, struct_ops, Kind::StructOps)->Name("StructOps/fq_codel")->Arg(1);

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const char* n : {"1", "100", "10000"})
    for (const char* subject : {"Jit/fq_codel/", "Interp/fq_codel/", "Checked/fq_codel/"})
      pairs.push_back({std::string(subject) + n, std::string("Native/fq_codel/") + n});
  pairs.push_back({"StructOps/fq_codel/1", "Native/fq_codel/1"});
  return bpfq::bench::run_with_ratios(argc, argv, pairs);
}
