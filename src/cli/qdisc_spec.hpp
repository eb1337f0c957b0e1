#pragma once
// A qdisc described the way tc describes one, after `qdisc add dev D root [handle H:]`:
//   pfifo [limit PACKETS] | bfifo [limit BYTES] | pfifo_head_drop [limit PACKETS] | pfifo_fast
//   fq_codel [NAME [VALUE]]...                (native; the parameters of progs/fq_codel.bpf.c)
//   bpf obj FILE.bpf.o [NAME [VALUE]]...     (or just FILE.bpf.o [NAME [VALUE]]... for -q)
// NAME VALUE pairs set the program's global variables (its parameters, docs/program-model.md);
// VALUE takes tc's units (param_value.hpp). A NAME not followed by a value is a flag set to 1;
// `noNAME` sets NAME to 0 unless the program has a global called noNAME.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/sched/device_params.hpp>
#include <bpfq/sched/handle.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/qdisc.hpp>

#include "param_value.hpp"
#include "tc_line.hpp"

namespace bpfq::sched {
class BpfQdisc;
}

namespace bpfq::cli {

struct ProgramParam {
  std::string name;   // as written: "limit", "ecn", "noecn"
  std::string token;  // the value as written; empty for a flag
  ParamValue value;   // a flag: 1
};

struct QdiscSpec {
  std::string text;    // as written, for messages and report headings
  std::string where;   // where it was written, for errors raised when it is built
  std::string kind;    // "pfifo", "bfifo", "pfifo_head_drop", "pfifo_fast", "fq_codel", "bpf"
  std::string object;  // bpf: the .bpf.o path
  std::vector<ProgramParam> params;
  std::optional<uint32_t> limit;  // fifos: `limit N`
};

// The qdisc words from the kind to the end of the line; errors name the word (TcLine).
QdiscSpec parse_qdisc_spec(TcLine& line);
// A whole string (`bpfq sim -q SPEC`); errors say "qdisc 'SPEC'".
QdiscSpec parse_qdisc_spec(const std::string& text);

// The global a parameter sets: NAME, or for a flag noNAME without a global of that name, NAME
// (set to 0). Null if neither exists.
const loader::GlobalVariable* param_global(const runtime::Object& obj, const ProgramParam& p);

struct QdiscSite {
  runtime::Clock& clock;
  sched::PacketPool& pool;
  sched::DeviceParams device;
};

// Builds the qdisc (bpf programs are opened, parameterised, given to before_init, e.g. to add
// classes, and initialised). Errors name spec.where.
using BeforeInit = std::function<void(sched::BpfQdisc&)>;
std::unique_ptr<sched::Qdisc> make_qdisc(const QdiscSpec& spec, const QdiscSite& site,
                                         sched::Handle handle = sched::Handle::make(1, 0),
                                         const BeforeInit& before_init = {});

}  // namespace bpfq::cli
