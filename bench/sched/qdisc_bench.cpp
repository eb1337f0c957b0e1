// Per-packet cost of a qdisc: one enqueue + one dequeue with `backlog` packets standing in the
// queue, for the eBPF FIFOs of progs/ against Linux's pfifo in native C++, in the same run.
// Jit/: verified at open, run as machine code (the default); Interp/: verified, run on the
// interpreter without checks; Checked/: not verified, every access checked at run time.
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

enum class Mode { Jit, Interp, Checked };

std::unique_ptr<Qdisc> make(const std::string& kind, Mode mode, PacketPool& pool, bpfq::runtime::Clock& clock) {
  if (kind == "native") return std::make_unique<PfifoQdisc>(kLimit);
  BpfQdiscEnv env{&pool, &clock};
  if (mode == Mode::Checked) env.verification = bpfq::runtime::Verification::Off;
  bpfq::runtime::set_default_backend(mode == Mode::Jit ? bpfq::exec::Backend::Jit : bpfq::exec::Backend::Interpreter);
  auto q = BpfQdisc::open(std::string(BPFQ_BINARY_DIR) + "/progs/" + kind + ".bpf.o", Handle::make(1, 0), env);
  q->object().set_global("limit", kLimit);
  q->init();
  return q;
}

void BM_EnqueueDequeue(benchmark::State& state, const std::string& kind, Mode mode) {
  const auto backlog = static_cast<uint32_t>(state.range(0));
  PacketPool pool(PacketPoolConfig{.packets = backlog + 16});
  bpfq::runtime::ManualClock clock;
  auto q = make(kind, mode, pool, clock);
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

BENCHMARK_CAPTURE(BM_EnqueueDequeue, native, std::string("native"), Mode::Jit)->Name("Native/pfifo")->Arg(1)->Arg(100)->Arg(10000);
#define BPFQ_MODES(prog)                                                                                   \
  BENCHMARK_CAPTURE(BM_EnqueueDequeue, prog##_jit, std::string(#prog), Mode::Jit)                           \
      ->Name("Jit/" #prog)->Arg(1)->Arg(100)->Arg(10000);                                                  \
  BENCHMARK_CAPTURE(BM_EnqueueDequeue, prog##_interp, std::string(#prog), Mode::Interp)                     \
      ->Name("Interp/" #prog)->Arg(1)->Arg(100)->Arg(10000);                                               \
  BENCHMARK_CAPTURE(BM_EnqueueDequeue, prog##_checked, std::string(#prog), Mode::Checked)                   \
      ->Name("Checked/" #prog)->Arg(1)->Arg(100)->Arg(10000);
BPFQ_MODES(fifo)
BPFQ_MODES(pfifo)

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const char* n : {"1", "100", "10000"})
    for (const char* mode : {"Jit/", "Interp/", "Checked/"})
      for (const char* prog : {"fifo/", "pfifo/"}) {
        const std::string subject = std::string(mode) + prog;
        pairs.push_back({subject + n, std::string("Native/pfifo/") + n});
      }
  return bpfq::bench::run_with_ratios(argc, argv, pairs);
}
