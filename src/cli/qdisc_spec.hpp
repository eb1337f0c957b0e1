#pragma once
// A qdisc described the way tc describes one, after `qdisc add dev D root`:
//   pfifo [limit PACKETS] | bfifo [limit BYTES] | pfifo_fast
//   bpf obj FILE.bpf.o [NAME VALUE]...     (or just FILE.bpf.o [NAME VALUE]...)
// NAME VALUE pairs set the program's global variables (its parameters, docs/program-model.md):
// VALUE is an integer, or a time with a unit (ns, us, ms, s), stored in nanoseconds.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/device_params.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/qdisc.hpp>

namespace bpfq::cli {

struct QdiscSpec {
  std::string text;  // as written, for messages and report headings
  std::vector<std::string> tokens;
  std::optional<uint32_t> limit;  // pfifo/bfifo: `limit N`, parsed once here
};

// Splits on whitespace and checks the grammar; bpfq::Error naming the token otherwise.
QdiscSpec parse_qdisc_spec(const std::string& text);

struct QdiscSite {
  runtime::Clock& clock;
  sched::PacketPool& pool;
  sched::DeviceParams device;
};

// Builds the qdisc (bpf programs are opened, parameterised and initialised).
std::unique_ptr<sched::Qdisc> make_qdisc(const QdiscSpec& spec, const QdiscSite& site);

}  // namespace bpfq::cli
