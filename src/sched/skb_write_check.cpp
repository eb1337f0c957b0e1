#include <bpfq/sched/skb_write_check.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <vector>

#include <linux/bpf.h>

#include <bpfq/error.hpp>
#include <bpfq/runtime/helpers.hpp>

#include "qdisc_run.hpp"

namespace bpfq::sched {

namespace {

using namespace ebpf;

// What a register or stack slot is known to hold. Offsets are bytes from the object's start.
struct Value {
  enum Kind : uint8_t { Unknown, Ctx, Skb, Frame } kind = Unknown;
  int64_t off = 0;
  bool operator==(const Value&) const = default;
  static Value unknown() { return {}; }
};

constexpr int kSlots = kStackSize / 8;

struct State {
  std::array<Value, kNumRegs> regs{};
  std::array<Value, kSlots> stack{};  // 8-byte spills, slot i at frame offset -(i + 1) * 8
  bool operator==(const State&) const = default;

  // Paths disagree: keep only what both agree on.
  void join(const State& other) {
    for (int i = 0; i < kNumRegs; ++i)
      if (!(regs[i] == other.regs[i])) regs[i] = Value::unknown();
    for (int i = 0; i < kSlots; ++i)
      if (!(stack[i] == other.stack[i])) stack[i] = Value::unknown();
  }
};

State entry_state(Value r1) {
  State s;
  s.regs[1] = r1;
  s.regs[kFrameReg] = {Value::Frame, 0};
  return s;
}

// The stack slot an 8-byte access at frame offset `off` hits, if aligned and inside the frame.
std::optional<int> slot_of(int64_t off) {
  if (off >= 0 || off < -kStackSize || off % 8 != 0) return std::nullopt;
  return static_cast<int>(-off / 8 - 1);
}

struct FieldName {
  size_t offset;
  size_t size;
  const char* name;
};

#define BPFQ_FIELD(f) FieldName{offsetof(__sk_buff, f), sizeof(__sk_buff::f), #f}
constexpr FieldName kFields[] = {
    BPFQ_FIELD(len), BPFQ_FIELD(pkt_type), BPFQ_FIELD(mark), BPFQ_FIELD(queue_mapping),
    BPFQ_FIELD(protocol), BPFQ_FIELD(vlan_present), BPFQ_FIELD(vlan_tci), BPFQ_FIELD(vlan_proto),
    BPFQ_FIELD(priority), BPFQ_FIELD(ingress_ifindex), BPFQ_FIELD(ifindex), BPFQ_FIELD(tc_index),
    BPFQ_FIELD(cb), BPFQ_FIELD(hash), BPFQ_FIELD(tc_classid), BPFQ_FIELD(data), BPFQ_FIELD(data_end),
    BPFQ_FIELD(napi_id), BPFQ_FIELD(family), BPFQ_FIELD(remote_ip4), BPFQ_FIELD(local_ip4),
    BPFQ_FIELD(remote_ip6), BPFQ_FIELD(local_ip6), BPFQ_FIELD(remote_port), BPFQ_FIELD(local_port),
    BPFQ_FIELD(data_meta), BPFQ_FIELD(flow_keys), BPFQ_FIELD(tstamp), BPFQ_FIELD(wire_len),
    BPFQ_FIELD(gso_segs), BPFQ_FIELD(sk), BPFQ_FIELD(gso_size), BPFQ_FIELD(tstamp_type),
    BPFQ_FIELD(hwtstamp),
};
#undef BPFQ_FIELD

std::string field_at(int64_t off) {
  for (const FieldName& f : kFields)
    if (off >= static_cast<int64_t>(f.offset) && off < static_cast<int64_t>(f.offset + f.size)) return f.name;
  return "offset " + std::to_string(off);
}

bool writable(int64_t off, int size) {
  for (const SkbFieldRange& r : skb_writable_fields())
    if (off >= r.begin && off + size <= r.end) return true;
  return false;
}

// Kfuncs and helpers whose result is a packet reference.
bool returns_packet(const loader::ProgramSpec& prog, const Insn& call) {
  if (call.src == CALL_HELPER) return call.imm == runtime::helper_id::kKptrXchg;
  if (call.src != CALL_KFUNC || call.imm < 0 || static_cast<size_t>(call.imm) >= prog.kfunc_names.size()) return false;
  const std::string& name = prog.kfunc_names[call.imm];
  return name == "bpf_skb_acquire" || name == "bpf_skb_kptr_get" || name == "bpf_skb_queue_pop";
}

class Checker {
 public:
  Checker(const loader::ProgramSpec& prog, ContextKind context, const std::string& path)
      : prog_(prog), context_(context), path_(path), states_(prog.insns.size()) {}

  void run() {
    const Value ctx = context_ == ContextKind::SkBuff ? Value{Value::Skb, 0} : Value{Value::Ctx, 0};
    // Sub-programs nobody calls (callbacks of bpf_loop, for_each_map_elem) start knowing
    // nothing; called ones start from their callers' arguments.
    std::vector<bool> called(prog_.insns.size());
    for (size_t pc = 0; pc < prog_.insns.size(); ++pc) {
      const Insn& insn = prog_.insns[pc];
      const size_t target = pc + 1 + insn.imm;
      if (insn.code == (JMP | CALL) && insn.src == CALL_LOCAL && target < called.size()) called[target] = true;
    }
    for (size_t i = 0; i < prog_.functions.size(); ++i)
      if (i == 0 || !called[prog_.functions[i].start])
        flow_to(prog_.functions[i].start, entry_state(i == 0 ? ctx : Value::unknown()));
    while (!work_.empty()) {
      const size_t pc = work_.back();
      work_.pop_back();
      step(pc, *states_[pc]);
    }
  }

 private:
  void flow_to(size_t pc, const State& s) {
    if (pc >= states_.size()) return;  // the linker already rejected jumps out of the program
    if (!states_[pc]) {
      states_[pc] = s;
    } else {
      State joined = *states_[pc];
      joined.join(s);
      if (joined == *states_[pc]) return;
      states_[pc] = joined;
    }
    work_.push_back(pc);
  }

  void reject_store(size_t pc, int64_t off, int size) const {
    std::string where = path_ + " section " + prog_.section + " insn " + std::to_string(pc);
    const std::string at = prog_.source_location(pc);
    if (!at.empty()) where += " (" + at + ")";
    throw Error("writes " + std::to_string(size) + " bytes to __sk_buff." + field_at(off) + ", which is read-only",
                where,
                "programs may write mark, priority, queue_mapping, tc_index, cb[0..4], tc_classid and tstamp; "
                "the packet's bytes are written through skb->data");
  }

  // A store of `size` bytes through `base` + off.
  void check_store(size_t pc, const Value& base, int64_t off, int size) const {
    if (base.kind == Value::Skb && !writable(base.off + off, size)) reject_store(pc, base.off + off, size);
  }

  void step(size_t pc, State s) {
    const Insn& insn = prog_.insns[pc];
    const uint8_t cls = insn_class(insn.code);
    auto& r = s.regs;
    switch (cls) {
      case LD:
        if (insn.code == LDDW_OPCODE) {
          r[insn.dst] = Value::unknown();
          flow_to(pc + 2, s);
          return;
        }
        r[0] = Value::unknown();  // legacy packet loads
        break;
      case LDX: {
        const Value base = r[insn.src];
        Value loaded = Value::unknown();
        if (mem_size(insn.code) == DW && mem_mode(insn.code) == MEM) {
          if (base.kind == Value::Ctx && base.off + insn.off == 0) loaded = {Value::Skb, 0};  // ctx->skb
          if (base.kind == Value::Frame)
            if (auto slot = slot_of(base.off + insn.off)) loaded = s.stack[*slot];
        }
        r[insn.dst] = loaded;
        break;
      }
      case ST:
      case STX: {
        const Value base = r[insn.dst];
        const int size = size_bytes(mem_size(insn.code));
        check_store(pc, base, insn.off, size);
        if (base.kind == Value::Frame) {
          const int64_t off = base.off + insn.off;
          for (int64_t b = off; b < off + size; ++b)
            if (b < 0 && b >= -kStackSize) s.stack[(-b - 1) / 8] = Value::unknown();
          const auto slot = slot_of(off);
          if (slot && cls == STX && size == 8 && mem_mode(insn.code) == MEM) s.stack[*slot] = r[insn.src];
        }
        if (cls == STX && mem_mode(insn.code) == ATOMIC && (insn.imm & ATOMIC_FETCH))
          r[insn.imm == ATOMIC_CMPXCHG ? 0 : insn.src] = Value::unknown();
        break;
      }
      case ALU64: {
        Value& d = r[insn.dst];
        const uint8_t op = alu_op(insn.code);
        if (op == MOV && source(insn.code) == X && insn.off == 0) {
          d = r[insn.src];
        } else if ((op == ADD || op == SUB) && source(insn.code) == K && d.kind != Value::Unknown) {
          d.off += op == ADD ? insn.imm : -static_cast<int64_t>(insn.imm);
        } else {
          d = Value::unknown();
        }
        break;
      }
      case ALU:
        r[insn.dst] = Value::unknown();
        break;
      case JMP:
      case JMP32: {
        const uint8_t op = alu_op(insn.code);
        if (cls == JMP && op == EXIT) return;
        if (cls == JMP && op == CALL) {
          if (insn.src == CALL_LOCAL) {
            State callee = entry_state(Value::unknown());
            for (int i = 1; i <= 5; ++i) callee.regs[i] = r[i];
            flow_to(pc + 1 + insn.imm, callee);
          }
          const Value result = returns_packet(prog_, insn) ? Value{Value::Skb, 0} : Value::unknown();
          for (int i = 1; i <= 5; ++i) r[i] = Value::unknown();
          r[0] = result;
          break;
        }
        if (cls == JMP && op == JA) {
          flow_to(pc + 1 + insn.off, s);
          return;
        }
        flow_to(pc + 1 + insn.off, s);
        break;
      }
    }
    flow_to(pc + 1, s);
  }

  const loader::ProgramSpec& prog_;
  ContextKind context_;
  const std::string& path_;
  std::vector<std::optional<State>> states_;
  std::vector<size_t> work_;
};

}  // namespace

void check_skb_writes(const loader::ProgramSpec& prog, ContextKind context, const std::string& path) {
  Checker(prog, context, path).run();
}

}  // namespace bpfq::sched
