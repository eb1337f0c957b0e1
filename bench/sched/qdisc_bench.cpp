// Per-packet cost of a qdisc: one enqueue + one dequeue with `backlog` packets standing in the
// queue, for the eBPF FIFOs of progs/ against Linux's pfifo in native C++, in the same run.
// Ebpf/: verified at open, run unchecked; EbpfChecked/: not verified, every access checked at
// run time (what bpfq did before it had a verifier).
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

std::unique_ptr<Qdisc> make(const std::string& kind, bool checked, PacketPool& pool, bpfq::runtime::Clock& clock) {
  if (kind == "native") return std::make_unique<PfifoQdisc>(kLimit);
  BpfQdiscEnv env{&pool, &clock};
  if (checked) env.verification = bpfq::runtime::Verification::Off;
  auto q = BpfQdisc::open(std::string(BPFQ_BINARY_DIR) + "/progs/" + kind + ".bpf.o", Handle::make(1, 0), env);
  q->object().set_global("limit", kLimit);
  q->init();
  return q;
}

void BM_EnqueueDequeue(benchmark::State& state, const std::string& kind, bool checked) {
  const auto backlog = static_cast<uint32_t>(state.range(0));
  PacketPool pool(PacketPoolConfig{.packets = backlog + 16});
  bpfq::runtime::ManualClock clock;
  auto q = make(kind, checked, pool, clock);
  FrameSpec spec;
  spec.payload_len = 64;
  const std::vector<uint8_t> frame = build_frame(spec);  // built once: the loop measures the qdisc
  auto offer = [&] {
    Packet* pkt = pool.alloc();
    pkt->assign(frame);
    q->enqueue(pkt, clock.now_ns());
  };
  for (uint32_t i = 0; i < backlog; ++i) offer();
  for (auto _ : state) {
    offer();
    DequeueResult r = q->dequeue(clock.now_ns());
    PacketPool::release(r.packet);
  }
  if (q->stats().sent_packets != static_cast<uint64_t>(state.iterations()) || q->qlen() != backlog)
    state.SkipWithError("the qdisc did not forward every packet");
  q->reset();
}

BENCHMARK_CAPTURE(BM_EnqueueDequeue, native, std::string("native"), false)->Name("Native/pfifo")->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK_CAPTURE(BM_EnqueueDequeue, fifo, std::string("fifo"), false)->Name("Ebpf/fifo")->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK_CAPTURE(BM_EnqueueDequeue, pfifo, std::string("pfifo"), false)->Name("Ebpf/pfifo")->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK_CAPTURE(BM_EnqueueDequeue, fifo_checked, std::string("fifo"), true)
    ->Name("EbpfChecked/fifo")->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK_CAPTURE(BM_EnqueueDequeue, pfifo_checked, std::string("pfifo"), true)
    ->Name("EbpfChecked/pfifo")->Arg(1)->Arg(100)->Arg(10000);

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const char* n : {"1", "100", "10000"})
    for (const char* subject : {"Ebpf/fifo/", "Ebpf/pfifo/", "EbpfChecked/fifo/", "EbpfChecked/pfifo/"})
      pairs.push_back({std::string(subject) + n, std::string("Native/pfifo/") + n});
  return bpfq::bench::run_with_ratios(argc, argv, pairs);
}
