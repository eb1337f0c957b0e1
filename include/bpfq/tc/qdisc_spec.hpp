#pragma once
// A qdisc described the way tc describes one, after `qdisc add dev D root [handle H:]`:
//   KIND [OPTIONS]...                   a registered kind (qdisc_kind.hpp): native_pfifo [limit N],
//                                       native_bfifo, pfifo_head_drop, native_pfifo_fast,
//                                       native_fq_codel [NAME VALUE]..., bpf obj FILE [NAME VALUE]...,
//                                       mq, mqprio [num_tc N] [map ...] [queues C@O ...] hw 0
//   NAME [PARAM VALUE]...               a library program NAME.bpf.o (program_library.hpp):
//                                       pfifo, bfifo, fq_codel, tbf, sfq, ... run as `bpf`
//   FILE.bpf.o [PARAM VALUE]...         an object of the user's, as `bpf obj FILE.bpf.o`
// PARAM VALUE pairs set the program's parameters (program_params.hpp); VALUE takes tc's units
// (param_value.hpp). A PARAM without a value is a flag set to 1; `noNAME` sets NAME to 0.
#include <functional>
#include <map>
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
#include <bpfq/sched/tx_queues.hpp>

#include <bpfq/tc/param_value.hpp>
#include <bpfq/tc/program_params.hpp>
#include <bpfq/tc/tc_line.hpp>

namespace bpfq::sched {
class BpfQdisc;
}

namespace bpfq::tc {

struct QdiscSpec {
  std::string text;    // as written, for messages and report headings
  std::string where;   // where it was written, for errors raised when it is built
  std::string kind;    // the registered kind: "bpf", "native_pfifo", ... (qdisc_kind.hpp)
  std::string name;    // what show calls it: the kind, or the library program's name ("tbf")
  std::string object;  // bpf: the .bpf.o path
  std::vector<ProgramParam> params;
  std::optional<uint32_t> limit;  // fifos: `limit N`
  // mqprio: num_tc, map and queues; num_tx_queues is the device's, filled in when it is built.
  std::optional<sched::TxQueueMap> tx_queue_map;
};

// Qdisc kinds registered from struct_ops objects (`struct_ops register FILE`): Qdisc_ops.id ->
// the object, run as `bpf obj FILE`.
using RegisteredQdiscs = std::map<std::string, std::string, std::less<>>;

// The qdisc words from the kind to the end of the line; errors name the word (TcLine).
QdiscSpec parse_qdisc_spec(TcLine& line, const RegisteredQdiscs* registered = nullptr);
// A whole string (`bpfq sim -q SPEC`); errors say "qdisc 'SPEC'".
QdiscSpec parse_qdisc_spec(const std::string& text);

struct QdiscSite {
  runtime::Clock& clock;
  sched::PacketPool& pool;
  sched::DeviceParams device;
  uint64_t seed = 0;        // the run's seed: each program's bpf_get_prandom_u32 stream derives from it
  std::string dev = "eth0"; // with the handle, the qdisc's place in the tree (its stream's name)
  runtime::PinnedMaps* pins = nullptr;  // maps shared by name by every object of the setup
  runtime::Verification verification = runtime::Verification::Enforce;  // sim --unverified: RunUnverifiedChecked
  sched::Handle parent = sched::Handle::root();  // where the qdisc goes: root, or a class
  // The qdisc is a TX queue's, a child of mq or mqprio (Linux lets a struct_ops bpf qdisc go
  // there as well as at the root).
  bool tx_queue = false;
  // How a kind whose classes are the device's TX queues (mq, mqprio) builds the qdisc of each:
  // the setup's qdisc under that class if a line put one there, else default_kind's. Null (a
  // plan checking a line): default_kind's, through make_qdisc.
  std::function<std::unique_ptr<sched::Qdisc>(sched::Handle classid, std::string_view default_kind)> build_child = nullptr;
};

// Builds the qdisc (bpf programs are opened, parameterised, given to before_init, e.g. to add
// classes, and initialised). Errors name spec.where.
using BeforeInit = std::function<void(sched::BpfQdisc&)>;
std::unique_ptr<sched::Qdisc> make_qdisc(const QdiscSpec& spec, const QdiscSite& site,
                                         sched::Handle handle = sched::Handle::make(1, 0),
                                         const BeforeInit& before_init = {});

}  // namespace bpfq::tc
