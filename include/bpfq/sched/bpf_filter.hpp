#pragma once
// SEC("tc") programs run on a packet with its `struct __sk_buff` as the context, as Linux runs
// cls_bpf filters and clsact programs: TcProgram runs one (checked mode: the skb fields Linux
// lets tc programs write and the frame bytes, as for qdisc programs), BpfFilter makes it a
// filter (`tc filter add ... bpf obj cls.o [sec S] [classid C] [da]`).
//
// Maps: a tc program shares maps with a qdisc program either by living in the qdisc's object
// (TcProgram::of_qdisc runs a section of the BpfQdisc's own object, with its helpers and
// kfuncs) or, in an object of its own (TcProgram::open, tc_helpers()), through maps pinned
// by name (runtime::PinnedMaps), as libbpf shares them.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <bpfq/exec/program.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/runtime/run_env.hpp>
#include <bpfq/sched/filter.hpp>

namespace bpfq::sched {

class BpfQdisc;

// What tc programs opened on their own (TcProgram::open) may call: the standard helpers plus
// bpf_skb_load_bytes. A tc program of a qdisc's object (of_qdisc) has qdisc_helpers().
const exec::HelperRegistry& tc_helpers();

class TcProgram {
 public:
  // Opens path with tc_helpers() and picks `section` (or an entry function name);
  // maps declared LIBBPF_PIN_BY_NAME are shared through `pins` (e.g. with a BpfQdisc opened
  // with the same BpfQdiscEnv::pins). Throws bpfq::Error (naming the file and listing the
  // programs) if either fails.
  // The program is verified at open (runtime::Verification).
  static TcProgram open(const std::string& path, std::string_view section = "tc",
                        runtime::PinnedMaps* pins = nullptr,
                        runtime::Verification verification = runtime::Verification::Enforce);
  // A program of the qdisc's object: it shares the qdisc's maps and may call its kfuncs
  // (references it leaks are released and counted as the qdisc's leaks). The qdisc must
  // outlive the TcProgram.
  static TcProgram of_qdisc(BpfQdisc& qdisc, std::string_view section = "tc");

  TcProgram(TcProgram&&) noexcept = default;
  TcProgram& operator=(TcProgram&&) noexcept = default;

  // Clock, random generator and trace sink of the runs (null fields: the runtime's defaults).
  void set_env(const runtime::RunEnv& env) { env_ = env; }

  // Runs the program on pkt; false (and counted, with last_fault() set) if it faulted.
  // ret: the program's return value as the int it is in C.
  bool run(Packet& pkt, int32_t& ret);

  const std::string& section() const { return section_; }
  // The object holding the program's maps: map("name"), set_global(...).
  runtime::Object& object() { return *object_; }
  uint64_t runs() const { return runs_; }
  uint64_t faults() const { return faults_; }
  const std::string& last_fault() const { return last_fault_; }

 private:
  TcProgram(std::unique_ptr<runtime::Object> owned, runtime::Object* object, BpfQdisc* qdisc,
            std::string_view section);

  std::unique_ptr<runtime::Object> owned_;  // null when the program lives in a qdisc's object
  runtime::Object* object_;
  BpfQdisc* qdisc_;  // of_qdisc: the runs are qdisc runs (kfuncs need one)
  const exec::Program* prog_;
  std::string section_;
  runtime::RunEnv env_;
  uint64_t runs_ = 0;
  uint64_t faults_ = 0;
  std::string last_fault_;
};

// cls_bpf. Without direct action the return value is the verdict on the class: 0 no match,
// -1 (TC_ACT_UNSPEC) the filter's classid, anything else the class id itself. With direct
// action the program returns a tc action (OK, SHOT, STOLEN, QUEUED, TRAP, REDIRECT; anything
// else is no match) and picks the class in skb->tc_classid, which starts as the filter's classid;
// a class id without a major takes the filter classid's major (as Linux's
// TC_H_MAJ(classid) | tc_classid). A faulting run is no match (counted by the program).
class BpfFilter final : public Filter {
 public:
  BpfFilter(TcProgram program, uint32_t classid = 0, bool direct_action = false);

  int classify(Packet& pkt, uint32_t& classid) override;
  std::string_view kind() const override { return "bpf"; }

  TcProgram& program() { return program_; }
  bool direct_action() const { return direct_action_; }

 private:
  TcProgram program_;
  uint32_t classid_;
  bool direct_action_;
};

}  // namespace bpfq::sched
