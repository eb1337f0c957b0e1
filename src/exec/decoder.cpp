// Program::load: validate the instructions once and pre-decode them into Slots.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

#include <bpfq/ebpf/cfg.hpp>
#include <bpfq/error.hpp>

#include "decoded.hpp"
#include "jit.hpp"

namespace bpfq::exec {
namespace {

using namespace ebpf;

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// The opcodes most instructions use, each decoded by one table look-up: plain ALU operations,
// loads and stores, conditional jumps. Everything else, and any of these with an operand that
// needs an error, goes through the general decoding below, which the table only short-cuts.
enum class Form : uint8_t {
  General,
  AluK,     // dst written; ALU (32-bit): imm zero-extended
  AluX,     // dst written, src read; MOV only with off 0 (else MOVSX)
  Load,     // dst written, src the base
  Store,    // dst the base
  StoreX,   // dst the base, src read
  JumpK,    // dst compared; JMP32: imm zero-extended
  JumpX,    // dst and src compared
};

struct Common {
  uint16_t op = OP_COUNT;
  Form form = Form::General;
};

constexpr std::array<Common, 256> common_opcodes() {
  std::array<Common, 256> t{};
  // BPFQ_ALU_OPS order: ADD SUB MUL DIV SDIV OR AND LSH RSH MOD SMOD XOR MOV ARSH.
  constexpr std::pair<uint8_t, int> alu[] = {{ADD, 0}, {SUB, 1}, {MUL, 2}, {OR, 5},   {AND, 6},
                                             {LSH, 7}, {RSH, 8}, {XOR, 11}, {MOV, 12}, {ARSH, 13}};
  for (const auto& [code, idx] : alu) {
    t[ALU64 | code | K] = {static_cast<uint16_t>(OP_ADD_ALU64_K + idx), Form::AluK};
    t[ALU64 | code | X] = {static_cast<uint16_t>(OP_ADD_ALU64_X + idx), Form::AluX};
    t[ALU | code | K] = {static_cast<uint16_t>(OP_ADD_ALU32_K + idx), Form::AluK};
    t[ALU | code | X] = {static_cast<uint16_t>(OP_ADD_ALU32_X + idx), Form::AluX};
  }
  constexpr std::pair<uint8_t, Op> loads[] = {{W, OP_LDXW}, {H, OP_LDXH}, {B, OP_LDXB}, {DW, OP_LDXDW}};
  for (const auto& [size, op] : loads) t[LDX | MEM | size] = {op, Form::Load};
  constexpr std::pair<uint8_t, Op> stores[] = {{W, OP_STW}, {H, OP_STH}, {B, OP_STB}, {DW, OP_STDW}};
  for (const auto& [size, op] : stores) t[ST | MEM | size] = {op, Form::Store};
  constexpr std::pair<uint8_t, Op> storexs[] = {{W, OP_STXW}, {H, OP_STXH}, {B, OP_STXB}, {DW, OP_STXDW}};
  for (const auto& [size, op] : storexs) t[STX | MEM | size] = {op, Form::StoreX};
  // BPFQ_JMP_OPS order: JEQ JGT JGE JSET JNE JSGT JSGE JLT JLE JSLT JSLE.
  constexpr uint8_t jumps[] = {JEQ, JGT, JGE, JSET, JNE, JSGT, JSGE, JLT, JLE, JSLT, JSLE};
  for (int idx = 0; idx < 11; ++idx) {
    t[JMP | jumps[idx] | K] = {static_cast<uint16_t>(OP_JEQ_JMP_K + idx), Form::JumpK};
    t[JMP | jumps[idx] | X] = {static_cast<uint16_t>(OP_JEQ_JMP_X + idx), Form::JumpX};
    t[JMP32 | jumps[idx] | K] = {static_cast<uint16_t>(OP_JEQ_JMP32_K + idx), Form::JumpK};
    t[JMP32 | jumps[idx] | X] = {static_cast<uint16_t>(OP_JEQ_JMP32_X + idx), Form::JumpX};
  }
  return t;
}
constexpr std::array<Common, 256> kCommon = common_opcodes();

class Decoder {
 public:
  Decoder(std::span<const Insn> insns, const LinkEnv& env) : in_(insns), env_(env) {}

  std::vector<Slot> decode(std::vector<uint32_t>& callback_targets) {
    if (in_.empty()) fail(0, "program has no instructions", "an eBPF program ends with exit");
    if (in_.size() > kMaxInsns)
      fail(0, "program has " + std::to_string(in_.size()) + " instructions, more than " +
                  std::to_string(kMaxInsns));
    // The CFG owns jump, call and lddw-slot structure; its defects are raised below at the
    // instruction that has them, so errors still come in instruction order.
    // The structure only: reachability and loop heads are the verifier's.
    cfg_ = build_cfg(in_, cfg_errors_, CfgDepth::Structure);
    const CfgError* incomplete_lddw = nullptr;
    for (const CfgError& e : cfg_errors_)
      if (e.kind == CfgErrorKind::IncompleteLddw) incomplete_lddw = &e;
    const uint8_t* tails = cfg_.is_lddw_tail.data();
    for (size_t i = 0; i < in_.size(); ++i) {  // memchr: straight to the next tail, if any
      const auto* next = static_cast<const uint8_t*>(std::memchr(tails + i, 1, in_.size() - i));
      if (!next) break;
      i = static_cast<size_t>(next - tails);
      const Insn& tail = in_[i];
      if (tail.code != 0 || tail.dst != 0 || tail.src != 0 || tail.off != 0)
        fail(i, "second slot of lddw must have code, registers and offset 0");
    }
    if (incomplete_lddw) fail_cfg(*incomplete_lddw);
    std::vector<Slot> out;
    out.reserve(in_.size() + 1);
    for (size_t i = 0; i < in_.size(); ++i) {
      Slot& s = out.emplace_back(Slot{OP_FELL_OFF_END, 0, 0, 0, 0});  // an lddw's tail stays so
      if (!cfg_.is_lddw_tail[i] && !decode_common(i, s)) decode_one(i, s);  // in place: no copy
    }
    out.push_back(Slot{OP_FELL_OFF_END, 0, 0, 0, 0});
    // Every rejected defect sits on a jump, call or lddw the loop above resolved; this only
    // guards against the two disagreeing about what is a jump.
    for (const CfgError& e : cfg_errors_)
      if (rejects(e.kind)) fail_cfg(e);
    std::sort(callbacks_.begin(), callbacks_.end());
    callbacks_.erase(std::unique(callbacks_.begin(), callbacks_.end()), callbacks_.end());
    callback_targets = callbacks_;
    return out;
  }

 private:
  static constexpr size_t kMaxInsns = 1'000'000;

  [[noreturn]] void fail(size_t pc, const std::string& what, const std::string& hint = {}) const {
    std::string where = env_.where.empty() ? "" : env_.where + " ";
    throw Error(what, where + "insn " + std::to_string(pc), hint);
  }

  void check_reg(size_t pc, unsigned r, const char* role) const {
    if (r > 10) fail(pc, std::string("invalid ") + role + " register r" + std::to_string(r), "registers are r0..r10");
  }
  void check_dst_writable(size_t pc, unsigned r) const {
    check_reg(pc, r, "destination");
    if (r == kFrameReg) fail(pc, "write to r10, the read-only frame pointer");
  }

  // Fall-through past a function's end and unreachable code stay legal here: checked mode
  // faults on the first at run time, and the second never runs.
  static bool rejects(CfgErrorKind kind) {
    return kind != CfgErrorKind::FallThrough && kind != CfgErrorKind::Unreachable;
  }

  [[noreturn]] void fail_cfg(const CfgError& e) const {
    const std::string last = std::to_string(in_.size() - 1);
    const std::string target = e.target ? std::to_string(*e.target) : "?";
    std::string hint;
    switch (e.kind) {
      case CfgErrorKind::JumpOutOfProgram: hint = "the program has insns 0.." + last; break;
      case CfgErrorKind::JumpOutOfSubprogram: {
        const Subprogram& fn = cfg_.subprogram_of(e.insn);
        hint = "a jump stays within its function, insns " + std::to_string(fn.start) + ".." +
               std::to_string(fn.end - 1);
        break;
      }
      case CfgErrorKind::JumpIntoLddw: hint = "an lddw fills two slots"; break;
      case CfgErrorKind::BadCallTarget:
      case CfgErrorKind::BadFuncTarget:
        hint = "the target, insn " + target + ", is outside the program (insns 0.." + last + ")";
        break;
      case CfgErrorKind::IncompleteLddw: hint = "lddw is missing its second slot"; break;
      default: break;
    }
    fail(e.insn, e.message, hint);
  }

  // Raises the first rejected CFG defect at pc, if any (the errors are in instruction order).
  void check_cfg(size_t pc) const {
    auto it = std::lower_bound(cfg_errors_.begin(), cfg_errors_.end(), pc,
                               [](const CfgError& e, size_t at) { return e.insn < at; });
    for (; it != cfg_errors_.end() && it->insn == pc; ++it)
      if (it->kind != CfgErrorKind::IncompleteLddw && rejects(it->kind)) fail_cfg(*it);
  }

  // The checked destination of the jump, call or lddw PSEUDO_FUNC at pc.
  int32_t jump_target(size_t pc) const {
    check_cfg(pc);
    // Unreachable unless the CFG and the decoder disagree on what is a jump.
    if (cfg_.succs[pc].empty()) fail(pc, "internal error: jump without a target in the CFG");
    return static_cast<int32_t>(cfg_.succs[pc].back());  // a jump's target comes last
  }
  int32_t entry_target(size_t pc, const std::optional<uint32_t>& target) const {
    check_cfg(pc);
    return static_cast<int32_t>(*target);
  }

  // The table's opcodes with valid registers; false leaves the rest (and every error) to
  // decode_one.
  bool decode_common(size_t pc, Slot& s) {
    const Insn& i = in_[pc];
    const Common c = kCommon[i.code];
    const bool dst_ok = i.dst <= 10, dst_writable = i.dst < 10, src_ok = i.src <= 10;
    bool ok = false;
    switch (c.form) {
      case Form::General: return false;
      case Form::AluK: ok = dst_writable; break;
      case Form::AluX: {
        const bool mov = c.op == OP_MOV_ALU64_X || c.op == OP_MOV_ALU32_X;
        ok = dst_writable && src_ok && (!mov || i.off == 0);
        break;
      }
      case Form::Load: ok = dst_writable && src_ok; break;
      case Form::Store:
      case Form::JumpK: ok = dst_ok; break;
      case Form::StoreX:
      case Form::JumpX: ok = dst_ok && src_ok; break;
    }
    if (!ok) return false;
    // 32-bit immediates operate on the low word: the zero-extended form, as decode_alu keeps it.
    const bool low_word = (insn_class(i.code) == ALU || insn_class(i.code) == JMP32) && source(i.code) == K;
    s = Slot{c.op, i.dst, i.src, i.off,
             low_word ? uint64_t{static_cast<uint32_t>(i.imm)} : static_cast<uint64_t>(static_cast<int64_t>(i.imm))};
    if (c.form == Form::JumpK || c.form == Form::JumpX) s.off = jump_target(pc);
    return true;
  }

  void decode_one(size_t pc, Slot& s) {
    const Insn& i = in_[pc];
    s = Slot{OP_COUNT, i.dst, i.src, i.off, static_cast<uint64_t>(static_cast<int64_t>(i.imm))};
    const uint8_t cls = insn_class(i.code);
    switch (cls) {
      case ALU:
      case ALU64: decode_alu(pc, i, s); break;
      case LDX: decode_ldx(pc, i, s); break;
      case ST:
      case STX: decode_store(pc, i, s); break;
      case LD: decode_ld(pc, i, s); break;
      case JMP:
      case JMP32: decode_jmp(pc, i, s); break;
    }
    if (s.op == OP_COUNT) unknown(pc, i);
  }

  [[noreturn]] void unknown(size_t pc, const Insn& i) const {
    fail(pc, "unknown opcode " + hex(i.code) + " (raw " + hex(i.raw()) + ")",
         "bpfq implements eBPF ISA v4 (RFC 9669)");
  }

  void decode_alu(size_t pc, const Insn& i, Slot& s) {
    const bool is64 = insn_class(i.code) == ALU64;
    const uint8_t op = alu_op(i.code);
    const bool x = source(i.code) == X;
    check_dst_writable(pc, i.dst);
    if (x) check_reg(pc, i.src, "source");
    if (op == END) {
      if (i.imm != 16 && i.imm != 32 && i.imm != 64)
        fail(pc, "byte swap width " + std::to_string(i.imm) + " is not 16, 32 or 64");
      const bool be = is64 || x;  // ALU64|END is an unconditional bswap, the same as TO_BE here
      static constexpr Op le[] = {OP_LE16, OP_LE32, OP_LE64}, bs[] = {OP_BE16, OP_BE32, OP_BE64};
      const int w = i.imm == 16 ? 0 : i.imm == 32 ? 1 : 2;
      s.op = be ? bs[w] : le[w];
      return;
    }
    if (op == NEG) {
      s.op = is64 ? OP_NEG64 : OP_NEG32;
      return;
    }
    if (op == MOV && x && i.off != 0) {
      if (is64 && i.off == 8) s.op = OP_MOVSX64_8;
      else if (is64 && i.off == 16) s.op = OP_MOVSX64_16;
      else if (is64 && i.off == 32) s.op = OP_MOVSX64_32;
      else if (!is64 && i.off == 8) s.op = OP_MOVSX32_8;
      else if (!is64 && i.off == 16) s.op = OP_MOVSX32_16;
      else fail(pc, "movsx with invalid offset " + std::to_string(i.off), "sign-extension widths are 8, 16 and 32 (64-bit only)");
      return;
    }
    const bool signed_div = (op == DIV || op == MOD) && i.off == 1;
    if ((op == DIV || op == MOD) && i.off != 0 && i.off != 1)
      fail(pc, "division with invalid offset " + std::to_string(i.off), "offset 0 is unsigned, 1 is signed");
    // Table order follows BPFQ_ALU_OPS: ADD SUB MUL DIV SDIV OR AND LSH RSH MOD SMOD XOR MOV ARSH.
    int idx;
    switch (op) {
      case ADD: idx = 0; break;
      case SUB: idx = 1; break;
      case MUL: idx = 2; break;
      case DIV: idx = signed_div ? 4 : 3; break;
      case OR: idx = 5; break;
      case AND: idx = 6; break;
      case LSH: idx = 7; break;
      case RSH: idx = 8; break;
      case MOD: idx = signed_div ? 10 : 9; break;
      case XOR: idx = 11; break;
      case MOV: idx = 12; break;
      case ARSH: idx = 13; break;
      default: unknown(pc, i);
    }
    const Op base = is64 ? (x ? OP_ADD_ALU64_X : OP_ADD_ALU64_K) : (x ? OP_ADD_ALU32_X : OP_ADD_ALU32_K);
    s.op = static_cast<uint16_t>(base + idx);
    // 32-bit immediates operate on the low word; keep the zero-extended form ready.
    if (!is64 && !x) s.imm = static_cast<uint32_t>(i.imm);
  }

  void decode_ldx(size_t pc, const Insn& i, Slot& s) {
    check_dst_writable(pc, i.dst);
    check_reg(pc, i.src, "base");
    const uint8_t size = mem_size(i.code);
    if (mem_mode(i.code) == MEM) {
      static constexpr Op ops[] = {OP_LDXW, OP_LDXH, OP_LDXB, OP_LDXDW};
      s.op = ops[size >> 3];
    } else if (mem_mode(i.code) == MEMSX) {
      if (size == DW) fail(pc, "sign-extending load of 8 bytes does not exist", "use ldxdw");
      static constexpr Op ops[] = {OP_LDXSW, OP_LDXSH, OP_LDXSB};
      s.op = ops[size >> 3];
    }
  }

  void decode_store(size_t pc, const Insn& i, Slot& s) {
    check_reg(pc, i.dst, "base");
    const uint8_t size = mem_size(i.code);
    const uint8_t mode = mem_mode(i.code);
    if (insn_class(i.code) == ST) {
      if (mode != MEM) return;
      static constexpr Op ops[] = {OP_STW, OP_STH, OP_STB, OP_STDW};
      s.op = ops[size >> 3];
      return;
    }
    check_reg(pc, i.src, "source");
    if (mode == MEM) {
      static constexpr Op ops[] = {OP_STXW, OP_STXH, OP_STXB, OP_STXDW};
      s.op = ops[size >> 3];
      return;
    }
    if (mode != ATOMIC) return;
    if (size != W && size != DW) fail(pc, "atomic operations exist only for 32 and 64 bits");
    const bool is64 = size == DW;
    Op op;
    switch (i.imm) {
      case ATOMIC_ADD: op = is64 ? OP_AADD64 : OP_AADD32; break;
      case ATOMIC_OR: op = is64 ? OP_AOR64 : OP_AOR32; break;
      case ATOMIC_AND: op = is64 ? OP_AAND64 : OP_AAND32; break;
      case ATOMIC_XOR: op = is64 ? OP_AXOR64 : OP_AXOR32; break;
      case ATOMIC_ADD | ATOMIC_FETCH: op = is64 ? OP_AFADD64 : OP_AFADD32; break;
      case ATOMIC_OR | ATOMIC_FETCH: op = is64 ? OP_AFOR64 : OP_AFOR32; break;
      case ATOMIC_AND | ATOMIC_FETCH: op = is64 ? OP_AFAND64 : OP_AFAND32; break;
      case ATOMIC_XOR | ATOMIC_FETCH: op = is64 ? OP_AFXOR64 : OP_AFXOR32; break;
      case ATOMIC_XCHG: op = is64 ? OP_AXCHG64 : OP_AXCHG32; break;
      case ATOMIC_CMPXCHG: op = is64 ? OP_ACMPXCHG64 : OP_ACMPXCHG32; break;
      default: fail(pc, "unknown atomic operation " + hex(static_cast<uint32_t>(i.imm)));
    }
    // The fetching forms write the old value to src (cmpxchg to r0): those must be writable.
    if (i.imm & ATOMIC_FETCH) check_dst_writable(pc, i.imm == ATOMIC_CMPXCHG ? 0 : i.src);
    s.op = op;
  }

  void decode_ld(size_t pc, const Insn& i, Slot& s) {
    const uint8_t mode = mem_mode(i.code);
    if (mode == ABS || mode == IND)
      fail(pc, "legacy packet access (ld_abs/ld_ind) is not supported",
           "read packet bytes through skb->data/data_end or bpf_skb_load_bytes");
    if (i.code != LDDW_OPCODE) return;
    check_dst_writable(pc, i.dst);
    const Insn& next = in_[pc + 1];
    s.op = OP_LDDW;
    switch (i.src) {
      case LDDW_IMM64:
        s.imm = static_cast<uint32_t>(i.imm) | (static_cast<uint64_t>(static_cast<uint32_t>(next.imm)) << 32);
        break;
      case PSEUDO_FUNC: {
        const int32_t t = entry_target(pc, cfg_.func_ref(pc));
        callbacks_.push_back(static_cast<uint32_t>(t));
        s.imm = kCallbackTag | static_cast<uint32_t>(t);
        break;
      }
      case PSEUDO_MAP_FD:
      case PSEUDO_MAP_VALUE:
      case PSEUDO_MAP_IDX:
      case PSEUDO_MAP_IDX_VALUE:
        if (!env_.resolve_lddw)
          fail(pc, "lddw refers to map " + std::to_string(i.imm) + " but no maps are linked",
               "load the program through an object, which creates its maps");
        try {
          s.imm = env_.resolve_lddw(i.src, i.imm, next.imm);
        } catch (const Error& e) {
          fail(pc, e.reason(), e.hint());
        }
        break;
      default:
        fail(pc, "lddw with unsupported pseudo source " + std::to_string(i.src));
    }
  }

  void decode_jmp(size_t pc, const Insn& i, Slot& s) {
    const bool is32 = insn_class(i.code) == JMP32;
    const uint8_t op = alu_op(i.code);
    const bool x = source(i.code) == X;
    if (op == JA) {
      if (x) return;
      s.op = OP_JA;
      s.off = jump_target(pc);
      return;
    }
    if (op == EXIT) {
      if (is32 || x) return;
      s.op = OP_EXIT;
      return;
    }
    if (op == CALL) {
      if (is32) return;
      if (x) fail(pc, "callx (indirect call through a register) is not supported", "call helpers by id");
      decode_call(pc, i, s);
      return;
    }
    check_reg(pc, i.dst, "compared");
    if (x) check_reg(pc, i.src, "compared");
    int idx;  // BPFQ_JMP_OPS order: JEQ JGT JGE JSET JNE JSGT JSGE JLT JLE JSLT JSLE
    switch (op) {
      case JEQ: idx = 0; break;
      case JGT: idx = 1; break;
      case JGE: idx = 2; break;
      case JSET: idx = 3; break;
      case JNE: idx = 4; break;
      case JSGT: idx = 5; break;
      case JSGE: idx = 6; break;
      case JLT: idx = 7; break;
      case JLE: idx = 8; break;
      case JSLT: idx = 9; break;
      case JSLE: idx = 10; break;
      default: return;
    }
    const Op base = is32 ? (x ? OP_JEQ_JMP32_X : OP_JEQ_JMP32_K) : (x ? OP_JEQ_JMP_X : OP_JEQ_JMP_K);
    s.op = static_cast<uint16_t>(base + idx);
    s.off = jump_target(pc);
    if (is32 && !x) s.imm = static_cast<uint32_t>(i.imm);
  }

  void decode_call(size_t pc, const Insn& i, Slot& s) {
    switch (i.src) {
      case CALL_HELPER: {
        const HelperEntry* h = env_.helpers ? env_.helpers->helper(i.imm) : nullptr;
        if (!h || !h->fn)
          fail(pc, "unknown helper id " + std::to_string(i.imm),
               "bpfq provides the helpers listed in docs/runtime.md and docs/program-model.md");
        s.op = OP_CALL_HELPER;
        s.imm = reinterpret_cast<uint64_t>(h->fn);
        return;
      }
      case CALL_KFUNC: {
        if (i.imm < 0 || static_cast<size_t>(i.imm) >= env_.kfunc_names.size())
          fail(pc, "kfunc call index " + std::to_string(i.imm) + " has no name");
        const std::string& name = env_.kfunc_names[i.imm];
        const HelperEntry* k = env_.helpers ? env_.helpers->kfunc(name) : nullptr;
        if (!k || !k->fn)
          fail(pc, "unknown kfunc '" + name + "'", "bpfq provides the kfuncs listed in docs/runtime.md and docs/program-model.md");
        s.op = OP_CALL_HELPER;
        s.imm = reinterpret_cast<uint64_t>(k->fn);
        return;
      }
      case CALL_LOCAL:
        s.op = OP_CALL_LOCAL;
        s.off = entry_target(pc, cfg_.call_target(pc));
        return;
      default:
        fail(pc, "call with unknown kind (src_reg " + std::to_string(i.src) + ")");
    }
  }

  std::span<const Insn> in_;
  const LinkEnv& env_;
  Cfg cfg_;
  std::vector<CfgError> cfg_errors_;
  std::vector<uint32_t> callbacks_;
};

}  // namespace

// Unchecked programs: calls that need no helper become operations of their own. A helper that
// only reads a word (the virtual clock) becomes LOAD_WORD, one that only exchanges the word at r1
// with r2 (bpf_kptr_xchg) XCHG_WORD. bpf_map_lookup_elem on an array map that an lddw loaded into
// r1 earlier in the same straight run of instructions becomes ARRAY_LOOKUP (the address computed
// in place, as Linux's JIT inlines array lookups); bpf_loop whose callback an lddw put in r2 so
// becomes LOOP (the JIT runs the loop in place). Checked runs keep the calls: they grant memory
// and count.
void inline_helpers(Program::Impl& p, const LinkEnv& env) {
  if (!env.inline_xchg && !env.inline_word && !env.is_loop && !env.inline_lookup) return;
  std::vector<Slot>& slots = p.slots;
  const size_t n = p.insns.size();
  std::vector<bool> landed(n + 1, false);  // a jump, call or callback arrives here
  for (size_t i = 0; i < n; ++i) {
    const uint16_t op = slots[i].op;
    if (op == OP_JA || (op >= OP_JEQ_JMP_K && op <= OP_JSLE_JMP32_X) || op == OP_CALL_LOCAL)
      landed[static_cast<size_t>(slots[i].off)] = true;
  }
  for (uint32_t c : p.callback_targets) landed[c] = true;
  // The lddw of kind `kind` that wrote `reg` last before the call at pc, in its straight run of
  // instructions; null if anything else wrote it (or an atomic, a jump or a call came between).
  auto lddw_into = [&](size_t pc, uint8_t reg, auto is_kind) -> const Slot* {
    for (size_t j = pc; j-- > 0 && !landed[j + 1];) {
      if (j > 0 && slots[j - 1].op == OP_LDDW) --j;  // j was an lddw's second half
      const Slot& w = slots[j];
      if (w.op >= OP_STB && w.op <= OP_STXDW) continue;  // stores write no register
      const bool writes_dst = w.op <= OP_LDXSW || w.op == OP_LDDW;
      if (writes_dst && w.dst != reg) continue;
      return w.op == OP_LDDW && w.dst == reg && is_kind(p.insns[j].src) ? &w : nullptr;
    }
    return nullptr;
  };
  for (size_t pc = 0; pc < n; ++pc) {
    Slot& s = slots[pc];
    if (s.op != OP_CALL_HELPER) continue;
    if (env.inline_xchg && env.inline_xchg(s.imm)) {
      s.op = OP_XCHG_WORD;
    } else if (const void* word = env.inline_word ? env.inline_word(s.imm) : nullptr) {
      s.op = OP_LOAD_WORD, s.imm = reinterpret_cast<uint64_t>(word);
    } else if (env.is_loop && env.is_loop(s.imm)) {
      if (const Slot* w = lddw_into(pc, 2, [](uint8_t kind) { return kind == ebpf::PSEUDO_FUNC; }))
        s.op = OP_LOOP, s.off = static_cast<int32_t>(w->imm & 0xffff'ffffULL);  // the helper stays in imm
    } else if (env.inline_lookup) {
      auto is_map = [](uint8_t kind) { return kind == ebpf::PSEUDO_MAP_FD || kind == ebpf::PSEUDO_MAP_IDX; };
      if (const Slot* w = lddw_into(pc, 1, is_map))
        if (std::optional<ArrayLookup> a = env.inline_lookup(s.imm, w->imm)) {
          p.lookups.push_back(*a);
          s.op = OP_ARRAY_LOOKUP;
          s.imm = reinterpret_cast<uint64_t>(&p.lookups.back());
        }
    }
  }
}

Program Program::load(std::span<const Insn> insns, const LinkEnv& env, ProgramOptions opts) {
  auto impl = std::make_unique<Impl>();
  impl->insns.assign(insns.begin(), insns.end());
  impl->slots = Decoder(insns, env).decode(impl->callback_targets);
  if (!opts.checked) inline_helpers(*impl, env);
  impl->regions = env.regions;
  impl->checked = opts.checked;
  impl->insn_budget = opts.insn_budget;
  if (opts.backend == Backend::Jit && jit_supported()) {
    if (opts.checked)
      throw Error(env.where + (env.where.empty() ? "" : ": ") +
                  "the JIT runs only programs without run-time checks (proved safe by the verifier)");
    impl->jit = JitCode::compile(impl->slots, impl->callback_targets);
  }
  return Program(std::move(impl));
}

Program::Program(std::unique_ptr<Impl> impl) : impl_(std::move(impl)), checked_(impl_->checked) {}
Program::Program(Program&&) noexcept = default;
Program& Program::operator=(Program&&) noexcept = default;
Program::~Program() = default;

size_t Program::size() const { return impl_->insns.size(); }
Backend Program::backend() const { return impl_->jit ? Backend::Jit : Backend::Interpreter; }
size_t Program::jit_code_size() const { return impl_->jit ? impl_->jit->code_size() : 0; }

const char* backend_name(Backend b) { return b == Backend::Jit ? "jit" : "interpreter"; }
const std::vector<ebpf::Insn>& Program::insns() const { return impl_->insns; }

}  // namespace bpfq::exec
