#include <bpfq/sched/bpf_filter.hpp>

#include <bpfq/error.hpp>
#include <bpfq/runtime/helpers.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>

#include "qdisc_run.hpp"

namespace bpfq::sched {

TcProgram TcProgram::open(const std::string& path, std::string_view section, runtime::PinnedMaps* pins,
                          runtime::Verification verification) {
  runtime::ObjectOptions options;
  options.helpers = &tc_helpers();
  options.pins = pins;
  options.verification = verification;
  options.verify_only = std::string(section);
  auto object = std::make_unique<runtime::Object>(runtime::Object::open(path, options));
  runtime::Object* raw = object.get();
  return TcProgram(std::move(object), raw, nullptr, section);
}

TcProgram TcProgram::of_qdisc(BpfQdisc& qdisc, std::string_view section) {
  return TcProgram(nullptr, &qdisc.object(), &qdisc, section);
}

TcProgram::TcProgram(std::unique_ptr<runtime::Object> owned, runtime::Object* object, BpfQdisc* qdisc,
                     std::string_view section)
    : owned_(std::move(owned)), object_(object), qdisc_(qdisc), prog_(&object->program(section)), section_(section) {
  // `section` may name the entry function: keep the section, which faults are reported by.
  for (const loader::ProgramSpec& p : object_->spec().programs)
    if (p.section == section || p.name == section) {
      section_ = p.section;
      break;
    }
}

bool TcProgram::run(Packet& pkt, int32_t& ret) {
  // Always a QdiscRun: the qdisc's kfuncs (of_qdisc) take it for one; with tc_helpers()
  // it is just the RunEnv.
  QdiscRun env(env_, qdisc_);
  exec::MemRegion regions[kPacketRegions];
  const size_t n = prog_->checked() ? static_cast<size_t>(packet_regions(pkt, QdiscApi::Seed, regions)) : 0;
  ++runs_;
  // ctx_len 0: the __sk_buff is reachable only through the packet regions (most of it read-only).
  const exec::RunResult r = prog_->run(&pkt.skb, 0, runtime::run_options(env, {regions, n}));
  // Only the qdisc's kfuncs hand out references, so a program without a qdisc holds none.
  if (qdisc_) qdisc_->release_leaks(env);
  ret = static_cast<int32_t>(static_cast<uint32_t>(r.r0));
  if (r.ok()) return true;
  ++faults_;
  last_fault_ = describe_fault(*object_, section_, r);
  return false;
}

BpfFilter::BpfFilter(TcProgram program, uint32_t classid, bool direct_action)
    : program_(std::move(program)), classid_(classid), direct_action_(direct_action) {}

int BpfFilter::classify(Packet& pkt, uint32_t& classid) {
  if (direct_action_) pkt.skb.tc_classid = classid_;
  int32_t ret = 0;
  if (!program_.run(pkt, ret)) return kTcActUnspec;
  if (!direct_action_) {
    if (ret == 0) return kTcActUnspec;
    classid = ret == -1 ? classid_ : static_cast<uint32_t>(ret);
    return kTcActOk;
  }
  switch (ret) {
    case kTcActOk:
    case kTcActShot:
    case kTcActStolen:
    case kTcActQueued:
    case kTcActTrap:
    case kTcActRedirect: {
      const uint32_t chosen = pkt.skb.tc_classid;
      classid = (chosen & 0xFFFF0000u) ? chosen : ((classid_ & 0xFFFF0000u) | chosen);
      return ret;
    }
    default:
      return kTcActUnspec;
  }
}

}  // namespace bpfq::sched
