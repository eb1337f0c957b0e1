#pragma once
// The registry of qdisc kinds: each kind is one table of operations in its own file
// (src/tc/kinds/), as every Linux sch_*.c ends with its Qdisc_ops and every iproute2 q_*.c with
// its qdisc_util: how its options are read from a tc line, how it is built, how `show` prints
// it. A kind name that is not registered is looked up in the qdisc library
// (program_library.hpp): `tbf rate 5mbit ...` runs tbf.bpf.o as a `bpf` qdisc.
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <bpfq/sched/handle.hpp>
#include <bpfq/sched/qdisc.hpp>
#include <bpfq/tc/qdisc_spec.hpp>
#include <bpfq/tc/setup_snapshot.hpp>
#include <bpfq/tc/tc_line.hpp>

namespace bpfq::tc {

struct QdiscKind {
  std::string_view name;   // "native_pfifo", "bpf", ...
  std::string_view usage;  // its tc line after `root`: "native_pfifo [limit PACKETS]"
  bool classful = false;   // takes classes (and filters through bpf_skb_tc_classify)
  // The words after the kind into spec (the kind word is already taken); errors name the word.
  void (*parse)(TcLine& line, QdiscSpec& spec);
  // Builds it at handle; errors (bpfq::Error) name spec.where.
  std::unique_ptr<sched::Qdisc> (*create)(const QdiscSpec& spec, const QdiscSite& site, sched::Handle handle,
                                          const BeforeInit& before_init);
  // Its options as tc prints them, from the live qdisc (row.options, row.options_json, counters).
  void (*dump)(sched::Qdisc& q, const QdiscSpec* spec, QdiscRow& row);
  // Its classes are the device's TX queues (mq, mqprio): made by the qdisc itself, one per queue
  // (:1 .. :numtxqueues), never added by a class line, no filters; only at the root.
  bool tx_queue_classes = false;
};

// Every registered kind, in the order `--help` lists them.
std::span<const QdiscKind* const> qdisc_kinds();
// The registered kind of that name, or null.
const QdiscKind* find_qdisc_kind(std::string_view name);
// "native_pfifo, native_bfifo, ..., bpf": for messages.
std::string qdisc_kind_names();

}  // namespace bpfq::tc
