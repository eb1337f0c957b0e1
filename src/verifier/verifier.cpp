// The verifier's exploration: every path of the program, one instruction at a time, with the
// abstract state of state.hpp; forks at branches both of whose edges are feasible; prunes a path
// at a jump target when a finished path already covered a state that contains it.
#include <bpfq/verifier/verifier.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <tuple>

#include <bpfq/ebpf/cfg.hpp>
#include <bpfq/ebpf/disassembler.hpp>

#include "kernel_btf.hpp"
#include "result_cache.hpp"
#include "state.hpp"

namespace bpfq::verifier {

namespace {

using namespace ebpf;

constexpr int64_t kMaxVarOff = 1 << 29;    // BPF_MAX_VAR_OFF
constexpr uint64_t kMaxPacketOff = 0xffff;  // MAX_PACKET_OFF
constexpr size_t kMaxStatesPerInsn = 64;    // stored states per prune point (memory bound)
constexpr size_t kScanStates = 64;          // newest states compared at a prune point

struct Failure {
  size_t insn;
  std::string message, hint, state;
  bool unsupported = false;  // beyond what the verifier models (VerifyResult::unsupported)
};

// Bytes of the special fields of graph objects (Linux 6.18's layouts).
uint32_t special_size(loader::SpecialKind k) {
  switch (k) {
    case loader::SpecialKind::SpinLock: return 4;
    case loader::SpecialKind::ListHead: return 16;
    case loader::SpecialKind::ListNode: return 24;
    case loader::SpecialKind::RbRoot: return 16;
    case loader::SpecialKind::RbNode: return 32;
    case loader::SpecialKind::Refcount: return 4;
    case loader::SpecialKind::Kptr: return 8;
  }
  return 8;
}

const char* special_name(loader::SpecialKind k) {
  switch (k) {
    case loader::SpecialKind::SpinLock: return "struct bpf_spin_lock";
    case loader::SpecialKind::ListHead: return "struct bpf_list_head";
    case loader::SpecialKind::ListNode: return "struct bpf_list_node";
    case loader::SpecialKind::RbRoot: return "struct bpf_rb_root";
    case loader::SpecialKind::RbNode: return "struct bpf_rb_node";
    case loader::SpecialKind::Refcount: return "struct bpf_refcount";
    case loader::SpecialKind::Kptr: return "kptr";
  }
  return "?";
}

// A stored state at a prune point, and how many paths descending from it are still unexplored.
struct Checkpoint {
  State st;
  Checkpoint* parent = nullptr;
  // Ancestor queries (is_ancestor) climb by `jump`, an ancestor chosen so that any depth is
  // reached in O(log depth) steps (skew-binary jump pointers): chains are thousands long.
  Checkpoint* jump = nullptr;
  uint32_t depth = 0;
  // The paths that joined this one on its way here (see Path::joined): they end when it does.
  std::vector<Checkpoint*> joined_parents;
  int branches = 1;
  // The nearest loop-head checkpoint above this one whose loop this state is still in: states
  // with the same anchor are in the same iteration of the same unrolled loop (or after it), so
  // joining them keeps loop counters exact.
  const Checkpoint* anchor = nullptr;
  bool at_loop_head = false;
  uint64_t seq = 0;  // creation order: a deterministic name
};

struct Path {
  State st;
  Checkpoint* parent = nullptr;
  uint32_t resumed_at = UINT32_MAX;  // a parked path going on: not parked there again
  // The last checkpoints of paths that joined this one while it was parked: this path goes on
  // for them too, so their checkpoints are not finished (usable for pruning) before it is.
  std::vector<Checkpoint*> joined;
};

enum class Visit { Go, Prune, Park, Joined };

CmpOp cmp_of(uint8_t op) {
  switch (op) {
    case JEQ: return CmpOp::Eq;
    case JNE: return CmpOp::Ne;
    case JGT: return CmpOp::Gt;
    case JGE: return CmpOp::Ge;
    case JLT: return CmpOp::Lt;
    case JLE: return CmpOp::Le;
    case JSGT: return CmpOp::SGt;
    case JSGE: return CmpOp::SGe;
    case JSLT: return CmpOp::SLt;
    case JSLE: return CmpOp::SLe;
    default: return CmpOp::Set;
  }
}

std::optional<AluOp> alu_of(uint8_t op) {
  switch (op) {
    case ADD: return AluOp::Add;
    case SUB: return AluOp::Sub;
    case MUL: return AluOp::Mul;
    case DIV: return AluOp::Div;
    case MOD: return AluOp::Mod;
    case OR: return AluOp::Or;
    case AND: return AluOp::And;
    case XOR: return AluOp::Xor;
    case LSH: return AluOp::Lsh;
    case RSH: return AluOp::Rsh;
    case ARSH: return AluOp::Arsh;
    default: return std::nullopt;
  }
}

const char* alu_name(uint8_t op) {
  switch (op) {
    case ADD: return "+=";
    case SUB: return "-=";
    case MUL: return "*=";
    case DIV: return "/=";
    case MOD: return "%=";
    case OR: return "|=";
    case AND: return "&=";
    case XOR: return "^=";
    case LSH: return "<<=";
    case RSH: return ">>=";
    case ARSH: return "s>>=";
    case NEG: return "neg";
    case END: return "bswap";
    default: return "?";
  }
}

std::string rname(int r) { return "R" + std::to_string(r); }

class Verifier {
 public:
  Verifier(const loader::ProgramSpec& prog, const loader::ObjectSpec& object, const ProgramType& type,
           const VerifyOptions& opts, VerifyResult& result)
      : prog_(prog), obj_(object), type_(type), opts_(opts), result_(result), insns_(prog.insns) {}

  void run() {
    std::vector<CfgError> errors;
    cfg_ = build_cfg(insns_, errors);
    if (!errors.empty()) throw Failure{errors.front().insn, errors.front().message, structural_hint(errors.front().message), {}};
    compute_liveness();
    compute_loops();
    if (uses_kernel_types()) open_kernel_types();
    explored_.resize(insns_.size());
    Path first;
    first.st = entry_state();
    std::vector<Path> pending;
    pending.push_back(std::move(first));
    for (;;) {
      if (pending.empty()) {
        // Only parked paths are left: every path that could meet them has met them.
        if (parked_.empty()) break;
        auto it = next_to_release();
        pending.push_back(std::move(it->second));
        parked_.erase(it);
      }
      Path path = std::move(pending.back());
      pending.pop_back();
      explore(path, pending);
    }
  }

 private:
  // ---------------------------------------------------------------- setup
  void open_kernel_types() {
    kbtf_ = std::make_unique<KernelBtf>(opts_.kernel_btf);
    skb_btf_ = kbtf_->find_struct("sk_buff");
    qdisc_btf_ = kbtf_->find_struct("Qdisc");
    to_free_btf_ = kbtf_->find_struct("bpf_sk_buff_ptr");
    if (!skb_btf_ || !qdisc_btf_ || !to_free_btf_)
      throw Failure{0, "no BTF of the kernel types (struct sk_buff, struct Qdisc) to check the program against",
                    "open struct_ops objects through bpfq's qdisc (it supplies them)", {}, true};
    const auto cb = kbtf_->field_range("sk_buff.cb");
    for (std::string_view path : type_.kernel_writable) {
      auto range = kbtf_->field_range(path);
      if (!range) continue;
      std::string_view type = path.substr(0, path.find('.'));
      if (type == "qdisc_skb_cb" && cb) {  // reached as skb->cb
        type = "sk_buff";
        range->first += cb->first;
      }
      writable_.push_back({kbtf_->find_struct(type), range->first, range->second, std::string(path)});
    }
  }

  // Programs that see struct sk_buff (and struct Qdisc) through bpfq's kernel BTF.
  bool uses_kernel_types() const { return type_.ctx == CtxKind::StructOpsArgs || type_.ctx == CtxKind::BpfQdiscCtx; }
  const CtxLayout& qdisc_ctx_layout() const {
    return type_.ctx == CtxKind::BpfQdiscCtx ? bpf_qdisc_ctx_layout() : sch_bpf_ctx_layout();
  }

  State entry_state() {
    State s;
    Frame f;
    f.start = 0;
    Reg ctx;
    if (type_.ctx == CtxKind::QdiscCtx || type_.ctx == CtxKind::BpfQdiscCtx) {
      ctx.type = RegType::Ctx;
    } else if (type_.ctx == CtxKind::StructOpsArgs) {
      ctx.type = RegType::Ctx;
      for (OpArg a : type_.op_args)
        if (a == OpArg::OwnedSkb) entry_skb_ref_ = acquire(s, RefKind::Packet);
    } else if (type_.ctx == CtxKind::SkBuff) {
      ctx.type = RegType::Skb;  // a tc program's context is the packet
    } else {
      ctx_memory_.name = "ctx";
      ctx_memory_.value_size = opts_.ctx_size;
      ctx.type = RegType::MapValue;  // bounds-checked like a map value
      ctx.map = &ctx_memory_;
      f.regs[2] = Reg::scalar(Scalar::constant(opts_.ctx_size));
    }
    f.regs[1] = ctx;
    f.regs[10] = stack_ptr(0);
    s.frames.push_back(std::move(f));
    return s;
  }

  static Reg stack_ptr(uint8_t frame) {
    Reg r;
    r.type = RegType::Stack;
    r.frame = frame;
    return r;
  }

  std::string structural_hint(const std::string& msg) const {
    if (msg.find("unreachable") != std::string::npos) return "remove the dead code, or compile with optimisation (-O2)";
    if (msg.find("last insn") != std::string::npos) return "every path must end with exit";
    if (msg.find("jump") != std::string::npos) return "the instruction stream is corrupt: rebuild the object with clang";
    return {};
  }

  // Live registers at each instruction's entry (backward dataflow within each function).
  void compute_liveness() {
    const size_t n = insns_.size();
    live_.assign(n + 1, 0);
    std::vector<LiveMask> use(n, 0), def(n, 0);
    for (size_t pc = 0; pc < n; ++pc) {
      if (cfg_.is_lddw_tail[pc]) continue;
      const Insn& i = insns_[pc];
      const uint8_t cls = insn_class(i.code);
      auto u = [&](int r) { use[pc] |= static_cast<LiveMask>(1u << (r & 15)); };
      auto d = [&](int r) { def[pc] |= static_cast<LiveMask>(1u << (r & 15)); };
      switch (cls) {
        case ALU:
        case ALU64:
          if (alu_op(i.code) != MOV) u(i.dst);
          if (source(i.code) == X && alu_op(i.code) != NEG && alu_op(i.code) != END) u(i.src);
          d(i.dst);
          break;
        case LDX: u(i.src); d(i.dst); break;
        case ST: u(i.dst); break;
        case STX:
          u(i.dst); u(i.src);
          if (mem_mode(i.code) == ATOMIC && i.imm == ATOMIC_CMPXCHG) { u(0); d(0); }
          break;
        case LD: d(i.dst); if (mem_mode(i.code) != IMM) { u(6); for (int r = 0; r <= 5; ++r) d(r); } break;
        case JMP:
        case JMP32: {
          const uint8_t op = alu_op(i.code);
          if (op == CALL) {
            for (int r = 1; r <= 5; ++r) u(r);
            for (int r = 0; r <= 5; ++r) d(r);
          } else if (op == EXIT) {
            u(0);
          } else if (op != JA) {
            u(i.dst);
            if (source(i.code) == X) u(i.src);
          }
          break;
        }
      }
      // r10 is always live: stack pointers are derived from it at any point.
      use[pc] |= 1u << 10;
    }
    bool changed = true;
    while (changed) {
      changed = false;
      for (size_t k = n; k-- > 0;) {
        if (cfg_.is_lddw_tail[k]) continue;
        LiveMask out = 0;
        for (uint32_t s : cfg_.succs[k]) out |= live_[s];
        const LiveMask in = static_cast<LiveMask>(use[k] | (out & ~def[k]));
        if (in != live_[k]) {
          live_[k] = in;
          changed = true;
        }
      }
    }
  }

  // What matters at pc in each frame of s: the current frame's live registers at pc, the callers'
  // at the instruction after their call (r0..r5 are clobbered or set by the call).
  std::vector<LiveMask> live_masks(const State& s) const {
    std::vector<LiveMask> m(s.frames.size());
    m.back() = live_[s.pc];
    for (size_t f = 0; f + 1 < s.frames.size(); ++f) {
      const uint32_t callsite = s.frames[f + 1].callsite;
      m[f] = callsite + 1 < live_.size() ? static_cast<LiveMask>(live_[callsite + 1] & ~0x3fu) : 0;
      m[f] |= 1u << 10;
    }
    return m;
  }

  // ---------------------------------------------------------------- exploration
  void explore(Path& path, std::vector<Path>& pending) {
    State& s = path.st;
    for (;;) {
      if (++result_.insns_processed > opts_.insn_limit)
        // Blamed on the loop being unrolled, if any: the line to change.
        throw Failure{too_large_at(path), "BPF program is too large: processed " + std::to_string(opts_.insn_limit) + " insns",
                      "a loop the verifier cannot bound, or too many paths: bound loops with a constant, or use "
                      "bpf_loop()", {}};
      if (s.pc >= insns_.size()) throw Failure{s.pc, "last insn is not an exit or jmp", "every path must end with exit", {}};
      if (cfg_.jump_target[s.pc] || cfg_.loop_head[s.pc] || is_callback_entry(s)) {
        const Visit v = visit(path);
        if (v == Visit::Prune) {
          end(path);
          return;
        }
        // Parked: goes on later, joined with the paths that meet it. Joined: goes on in the
        // parked path, which ends it.
        if (v == Visit::Park || v == Visit::Joined) return;
      }
      if (opts_.log) log_insn(s);
      const Step step = execute(path, pending);
      if (step == Step::Done) {
        end(path);
        return;
      }
    }
  }

  size_t too_large_at(const Path& path) const {
    const Checkpoint* loop = anchor_of(path.parent, path.st, false);
    return loop ? loop->st.pc : path.st.pc;
  }

  bool is_callback_entry(const State& s) const {
    return s.frames.size() > 1 && s.cur().callback && s.pc == s.cur().start;
  }

  // Ends a path: its checkpoints whose every descendant is explored become usable for pruning.
  static void end(const Path& path) {
    finish(path.parent);
    for (Checkpoint* c : path.joined) finish(c);
  }

  static void finish(Checkpoint* c) {
    std::vector<Checkpoint*> work{c};
    while (!work.empty()) {
      for (c = work.back(), work.pop_back(); c; c = c->parent) {
        if (--c->branches > 0) break;
        work.insert(work.end(), c->joined_parents.begin(), c->joined_parents.end());
      }
    }
  }

  void fork(Path& path, std::vector<Path>& pending, State other) {
    Path p;
    p.st = std::move(other);
    p.parent = path.parent;
    if (p.parent) ++p.parent->branches;
    pending.push_back(std::move(p));
  }

  Visit visit(Path& path) {
    State& s = path.st;
    const std::vector<LiveMask> live = live_masks(s);
    auto& list = explored_[s.pc];
    const bool callback_entry = is_callback_entry(s);
    // The newest states only: a loop unrolled many times stores one state per iteration, and
    // comparing with all of them would make verification quadratic. Skipping older ones only
    // costs pruning (and an old ancestor's loop is then caught by the instruction budget).
    const size_t first = list.size() > kScanStates ? list.size() - kScanStates : 0;
    for (size_t k = first; k < list.size(); ++k) {
      const auto& c = list[k];
      if (c->st.frames.size() != s.frames.size()) continue;
      if (c->branches == 0) {
        if (subsumes(c->st, s, live)) return Visit::Prune;
        continue;
      }
      // Loops are found at their heads (and callbacks at their entries) only. The containment
      // test comes first: it fails fast on a loop's counter, the ancestor walk does not.
      if (!(cfg_.loop_head[s.pc] || callback_entry)) continue;
      const bool contains = subsumes(c->st, s, live);
      const bool iterating = iterator_stepped(c->st, s);
      if ((!contains && !callback_entry && !iterating) || !is_ancestor(c.get(), path.parent)) continue;
      if (contains) {
        // A callback called again in a state it was called in before: the helper bounds how
        // often, so the earlier exploration covers this one. The same for an open-coded loop
        // whose iterator stepped on the way (bpf_iter_num ends by itself).
        if (another_invocation(c->st, s) || iterating) return Visit::Prune;
        throw Failure{s.pc, "infinite loop detected at insn " + std::to_string(s.pc),
                      "the loop can come back to where it started with nothing changed: make its condition "
                      "depend on a counter bounded by a constant", {}};
      }
      if ((callback_entry || iterating) && widen_into(c->st, s)) {
        // Widened: the next call of the callback (or iteration) is contained in this one.
      }
    }
    // Paths that meet where no loop begins go on as one when they differ only in numbers and
    // offsets: this keeps a chain of if/else from doubling the paths at every step.
    const Checkpoint* anchor = anchor_of(path.parent, s, true);
    if (!callback_entry && join_point_[s.pc]) {
      // The first path to reach a meeting point waits there (parked) while the other paths run;
      // those that reach it from the same iteration join it, and it goes on once, for all of
      // them. At a loop head, the iteration is the one that just ended: paths that took
      // different branches through it enter the next one together.
      const Checkpoint* iteration = cfg_.loop_head[s.pc] ? anchor_of(path.parent, s, false) : anchor;
      const std::tuple<uint32_t, uint64_t, uint32_t> key{s.pc, iteration ? iteration->seq : 0,
                                                         innermost_invocation(s)};
      auto it = parked_.find(key);
      if (it != parked_.end()) {
        // Joined in a copy, which shares the parked state's frames (see Frames): most paths that
        // meet a parked one join it, so the join is not checked first.
        State joined = it->second.st;
        if (join_into(joined, s, live)) {
          joined.pc = s.pc;
          it->second.st = std::move(joined);
          ++result_.joins;
          if (opts_.log) result_.log += std::to_string(s.pc) + ": joined a waiting path\n";
          Path& parked = it->second;
          parked.joined.push_back(path.parent);
          parked.joined.insert(parked.joined.end(), path.joined.begin(), path.joined.end());
          return Visit::Joined;
        }
        if (opts_.log) result_.log += std::to_string(s.pc) + ": cannot join the waiting path (" + shape_difference(it->second.st, s, live) + ")\n";
      } else if (path.resumed_at != s.pc) {
        path.resumed_at = s.pc;
        parked_.emplace(key, std::move(path));
        return Visit::Park;
      }
    }
    if (!cfg_.loop_head[s.pc] && !callback_entry) {
      for (auto it = list.rbegin(); it != list.rend(); ++it) {
        const Checkpoint& c = **it;
        if (c.anchor != anchor || c.at_loop_head || !same_calls(c.st, s) || is_ancestor(&c, path.parent)) continue;
        if (joinable(c.st, s, live)) {
          State joined = c.st;
          join_into(joined, s, live);
          joined.pc = s.pc;
          s = std::move(joined);
          ++result_.joins;
          break;
        }
      }
    }
    // Loop heads always keep their states: they anchor the iterations (see Checkpoint::anchor).
    // So does a path others joined: its checkpoint holds theirs.
    if (list.size() < kMaxStatesPerInsn || cfg_.loop_head[s.pc] || !path.joined.empty()) {
      auto c = std::make_unique<Checkpoint>();
      c->st = s;
      set_parent(*c, path.parent);
      c->joined_parents = std::move(path.joined);
      path.joined.clear();
      c->anchor = anchor;
      c->at_loop_head = cfg_.loop_head[s.pc] != 0;
      c->seq = ++result_.states_stored;
      path.parent = c.get();
      list.push_back(std::move(c));
    }
    return Visit::Go;
  }

  // Does cur run in a later call of some callback than old? Then coming back to old's state is
  // the helper calling again, which it does a bounded number of times, not a loop.
  // For the log: the first register or slot where two states differ in kind.
  static std::string shape_difference(const State& a, const State& b, const std::vector<LiveMask>& live) {
    if (a.frames.size() != b.frames.size()) return "frames";
    if (a.refs.size() != b.refs.size()) {
      auto list = [](const State& x) {
        std::string t;
        for (const RefEntry& e : x.refs) t += " " + std::to_string(e.id) + "@" + std::to_string(e.insn);
        return t;
      };
      return "references held:" + list(a) + " vs" + list(b);
    }
    for (size_t f = 0; f < a.frames.size(); ++f) {
      for (int r = 0; r < 11; ++r)
        if ((live[f] >> r & 1) && a.frames[f].regs[r].type != b.frames[f].regs[r].type)
          return "frame " + std::to_string(f) + " R" + std::to_string(r) + ": " + describe(a.frames[f].regs[r]) + " vs " +
                 describe(b.frames[f].regs[r]);
      const size_t n = std::min(a.frames[f].stack.size(), b.frames[f].stack.size());
      for (size_t k = 0; k < n; ++k) {
        const StackSlot& x = a.frames[f].stack[k];
        const StackSlot& y = b.frames[f].stack[k];
        if ((x.spill_size && x.spill.is_pointer()) != (y.spill_size && y.spill.is_pointer()))
          return "frame " + std::to_string(f) + " fp-" + std::to_string(8 * (k + 1));
      }
    }
    return "pointer details";
  }

  static uint32_t innermost_invocation(const State& s) {
    for (size_t f = s.frames.size(); f-- > 0;)
      if (s.frames[f].callback) return s.frames[f].invocation;
    return 0;
  }

  // Has an iterator old holds been stepped (bpf_iter_num_next) on the way to cur?
  static bool iterator_stepped(const State& old, const State& cur) {
    for (size_t f = 0; f < old.frames.size() && f < cur.frames.size(); ++f) {
      const auto& a = old.frames[f].stack;
      const auto& b = cur.frames[f].stack;
      for (size_t k = 0; k < a.size() && k < b.size(); ++k)
        if (a[k].object == SlotObject::Iter && b[k].object == SlotObject::Iter && a[k].object_ref == b[k].object_ref &&
            a[k].iter_step != b[k].iter_step)
          return true;
    }
    return false;
  }

  static bool another_invocation(const State& old, const State& cur) {
    for (size_t f = 0; f < old.frames.size() && f < cur.frames.size(); ++f)
      if (old.frames[f].invocation != cur.frames[f].invocation) return true;
    return false;
  }

  // The anchor of a state about to be stored under `parent`. A loop head's own earlier
  // iterations do not anchor it when skip_own_loop (the stored anchor must outlive the loop).
  const Checkpoint* anchor_of(const Checkpoint* parent, const State& s, bool skip_own_loop) const {
    const Checkpoint* c = parent;
    if (c && !c->at_loop_head) c = c->anchor;
    const bool at_head = skip_own_loop && cfg_.loop_head[s.pc] != 0;
    while (c && (!in_loop(*c, s) || (at_head && c->st.pc == s.pc && c->st.frames.size() == s.frames.size())))
      c = c->anchor;
    return c;
  }

  // Is s inside the loop whose head checkpoint is c (in c's frame, at its pc there)?
  bool in_loop(const Checkpoint& c, const State& s) const {
    const size_t d = c.st.frames.size() - 1;
    if (s.frames.size() <= d) return false;
    for (size_t k = 1; k <= d; ++k)
      if (s.frames[k].callsite != c.st.frames[k].callsite) return false;
    const uint32_t pc = d + 1 == s.frames.size() ? s.pc : s.frames[d + 1].callsite;
    const auto it = loop_body_.find(c.st.pc);
    return it != loop_body_.end() && it->second[pc];
  }

  // Natural loops: for each back edge u -> h (found by a DFS from each function's start), the
  // instructions that reach u without passing h.
  void compute_loops() {
    const size_t n = insns_.size();
    std::vector<std::vector<uint32_t>> preds(n);
    for (size_t k = 0; k < n; ++k)
      for (uint32_t t : cfg_.succs[k])
        if (t < n) preds[t].push_back(static_cast<uint32_t>(k));
    join_point_.assign(n + 1, 0);
    for (size_t k = 0; k < n; ++k) join_point_[k] = preds[k].size() >= 2;
    std::vector<uint8_t> color(n, 0);  // 0 new, 1 on the DFS stack, 2 done
    postorder_.assign(n + 1, 0);
    uint32_t next_post = 1;
    std::vector<std::pair<uint32_t, uint32_t>> back_edges;
    for (const Subprogram& sp : cfg_.subprograms) {
      if (sp.start >= n || color[sp.start]) continue;
      std::vector<std::pair<uint32_t, size_t>> stack{{static_cast<uint32_t>(sp.start), 0}};
      color[sp.start] = 1;
      while (!stack.empty()) {
        auto& [u, next] = stack.back();
        if (next < cfg_.succs[u].size()) {
          const uint32_t t = cfg_.succs[u][next++];
          if (t >= n) continue;
          if (color[t] == 1) back_edges.emplace_back(u, t);
          else if (color[t] == 0) {
            color[t] = 1;
            stack.emplace_back(t, 0);
          }
        } else {
          color[u] = 2;
          postorder_[u] = next_post++;
          stack.pop_back();
        }
      }
    }
    for (const auto& [u, h] : back_edges) {
      std::vector<uint8_t>& body = loop_body_[h];
      if (body.empty()) body.assign(n + 1, 0);
      body[h] = 1;
      std::vector<uint32_t> work{u};
      while (!work.empty()) {
        const uint32_t k = work.back();
        work.pop_back();
        if (body[k]) continue;
        body[k] = 1;
        for (uint32_t p : preds[k]) work.push_back(p);
      }
    }
  }

  // The parked path to go on next: one no other parked path can still reach. Those of the
  // newest iteration first (a path after a loop waits for every iteration's exit), within it
  // the loop head last (it starts the next iteration) and otherwise the topologically
  // earliest. Releasing a path before one that could reach it would explore what follows the
  // meeting point twice, and each iteration of a loop after it again.
  std::map<std::tuple<uint32_t, uint64_t, uint32_t>, Path>::iterator next_to_release() {
    auto best = parked_.begin();
    auto rank = [this](const auto& entry) {
      const auto& [pc, iteration, invocation] = entry.first;
      return std::tuple{iteration, invocation, !cfg_.loop_head[pc], postorder_[pc]};
    };
    for (auto it = std::next(parked_.begin()); it != parked_.end(); ++it)
      if (rank(*it) > rank(*best)) best = it;
    return best;
  }

  static void set_parent(Checkpoint& c, Checkpoint* parent) {
    c.parent = parent;
    c.depth = parent ? parent->depth + 1 : 0;
    const Checkpoint* j = parent ? parent->jump : nullptr;
    // Jump twice as far as the parent does when its two jumps have the same length, else one.
    c.jump = parent && j && j->jump && parent->depth - j->depth == j->depth - j->jump->depth ? j->jump : parent;
    if (!parent) c.jump = &c;
  }

  // Is c p or an ancestor of p?
  static bool is_ancestor(const Checkpoint* c, const Checkpoint* p) {
    if (!p || !c || c->depth > p->depth) return false;
    while (p->depth > c->depth) p = p->jump->depth >= c->depth ? p->jump : p->parent;
    return p == c;
  }

  void log_insn(const State& s) {
    size_t used = 0;
    std::string text = disassemble_one(&insns_[s.pc], insns_.size() - s.pc, &used);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    result_.log += std::to_string(s.pc) + ": (frame " + std::to_string(s.frames.size() - 1) + ") " + text;
    const Insn& i = insns_[s.pc];
    const Frame& f = s.cur();
    std::string regs;
    for (int r : {static_cast<int>(i.dst), static_cast<int>(i.src)})
      if (r <= 10 && f.regs[r].type != RegType::NotInit && regs.find(rname(r) + "=") == std::string::npos)
        regs += " " + rname(r) + "=" + describe(f.regs[r]);
    result_.log += (regs.empty() ? "" : "  ;" + regs) + "\n";
  }

  // ---------------------------------------------------------------- failures
  [[noreturn]] void fail(const State& s, std::string msg, std::string hint = {}, std::initializer_list<int> regs = {}) {
    std::string st;
    for (int r : regs)
      if (r >= 0 && r <= 10) st += (st.empty() ? "" : ", ") + rname(r) + "=" + describe(s.cur().regs[r]);
    throw Failure{s.pc, std::move(msg), std::move(hint), std::move(st)};
  }

  [[noreturn]] void fail_unsupported(const State& s, std::string msg, std::string hint) {
    throw Failure{s.pc, std::move(msg), std::move(hint), {}, true};
  }

  std::string at(uint32_t insn) const {
    if (insn == UINT32_MAX) return "";
    const std::string loc = prog_.source_location(insn);
    return loc.empty() ? "insn " + std::to_string(insn) : loc;
  }

  std::string origin_name(uint32_t insn) const {
    if (insn >= insns_.size()) return "the call";
    const Insn& i = insns_[insn];
    if (alu_op(i.code) == CALL) {
      if (i.src == CALL_HELPER)
        if (const FuncProto* p = helper_proto(i.imm)) return std::string(p->name);
      if (i.src == CALL_KFUNC && i.imm >= 0 && static_cast<size_t>(i.imm) < prog_.kfunc_names.size())
        return prog_.kfunc_names[i.imm];
    }
    return "the call";
  }

  // Why a register cannot be used as a pointer here.
  [[noreturn]] void fail_not_pointer(const State& s, int r, const char* use) {
    const Reg& reg = s.cur().regs[r];
    if (reg.type == RegType::NotInit) fail_uninit(s, r);
    if (reg.maybe_null)
      fail(s, rname(r) + " invalid mem access '" + type_name(reg.type) + "_or_null'",
           rname(r) + " may be NULL here: check the result of " + origin_name(reg.origin) + " (" + at(reg.origin) +
               ") against NULL before " + use + " it",
           {r});
    if (reg.type == RegType::Scalar && reg.origin != UINT32_MAX)
      fail(s, rname(r) + " invalid mem access 'scalar'",
           rname(r) + " held a reference released at " + at(reg.origin) +
               ": a packet may not be used after bpf_skb_release (or after it was handed on)",
           {r});
    fail(s, rname(r) + " invalid mem access '" + type_name(reg.type) + "'",
         reg.type == RegType::Scalar ? "only pointers can be dereferenced; this register holds a number"
                                     : std::string("a ") + type_name(reg.type) + " pointer does not point to memory a program may access",
         {r});
  }

  [[noreturn]] void fail_uninit(const State& s, int r) {
    const Reg& reg = s.cur().regs[r];
    if (reg.origin != UINT32_MAX)
      fail(s, rname(r) + " !read_ok",
           rname(r) + " held a reference released at " + at(reg.origin) +
               ": a packet may not be used after bpf_skb_release (or after it was handed on)");
    fail(s, rname(r) + " !read_ok", rname(r) + " is read before any value was written to it on this path");
  }

  const Reg& read_reg(const State& s, int r) {
    if (r > 10) fail(s, "R" + std::to_string(r) + " is invalid", "registers are r0..r10");
    const Reg& reg = s.cur().regs[r];
    if (reg.type == RegType::NotInit) fail_uninit(s, r);
    return reg;
  }

  Reg& write_reg(State& s, int r) {
    if (r > 10) fail(s, "R" + std::to_string(r) + " is invalid", "registers are r0..r10");
    if (r == 10) fail(s, "frame pointer is read only", "r10 cannot be written; copy it to another register");
    return s.cur().regs[r];
  }

  uint32_t new_id() { return ++next_id_; }

  // ---------------------------------------------------------------- one instruction
  enum class Step { Next, Done };

  Step execute(Path& path, std::vector<Path>& pending) {
    State& s = path.st;
    const Insn& i = insns_[s.pc];
    switch (insn_class(i.code)) {
      case ALU:
      case ALU64:
        if (is_zext_pair(s)) {
          zext_linked(s, i.dst, i.dst);
          s.pc += 2;
          return Step::Next;
        }
        alu(s, i);
        s.pc++;
        return Step::Next;
      case LDX: load(s, i); s.pc++; return Step::Next;
      case ST:
      case STX: store(s, i); s.pc++; return Step::Next;
      case LD: ld(s, i); return Step::Next;
      case JMP:
      case JMP32: return jump(path, pending, i);
    }
    fail(s, "unknown opcode " + std::to_string(i.code));
  }

  // `r <<= 32; r >>= 32` (clang's zero extension) on a value that already fits in 32 bits is no
  // operation; seen as one, the register keeps its links to the copies it was made from.
  bool is_zext_pair(const State& s) const {
    if (s.pc + 1 >= insns_.size() || cfg_.jump_target[s.pc + 1]) return false;
    const Insn& a = insns_[s.pc];
    const Insn& b = insns_[s.pc + 1];
    if (a.code != (ALU64 | LSH | K) || a.imm != 32 || a.off != 0 || b.code != (ALU64 | RSH | K) || b.imm != 32 ||
        b.off != 0 || a.dst != b.dst || a.dst >= 10)
      return false;
    return s.cur().regs[a.dst].type == RegType::Scalar;
  }

  // dst = the low 32 bits of src, zero-extended (mov32, or clang's shift pair), kept linked to
  // src: a bound later learnt on either teaches the other (see set_linked).
  void zext_linked(State& s, int dst, int src) {
    Reg& from = s.cur().regs[src];
    if (from.v.umax <= UINT32_MAX && !from.sub32) {  // already its own low half: a plain copy
      if (dst != src) s.cur().regs[dst] = Reg::scalar(from.v);
      return;
    }
    if (from.sub32) {  // a low half of a low half is the same low half
      s.cur().regs[dst] = from;
      s.cur().regs[dst].v = from.v.zext32();
      return;
    }
    if (from.id == 0 && !from.v.is_const()) from.id = new_id();
    Reg out = Reg::scalar(from.v.zext32());
    out.id = from.id;
    out.sub32 = out.id != 0;
    s.cur().regs[dst] = out;
  }

  // ---- ALU
  void alu(State& s, const Insn& i) {
    const bool is64 = insn_class(i.code) == ALU64;
    const uint8_t op = alu_op(i.code);
    const bool x = source(i.code) == X;
    if (op == END) {
      if (i.imm != 16 && i.imm != 32 && i.imm != 64) fail(s, "invalid BPF_END width " + std::to_string(i.imm));
      const Reg& d = read_reg(s, i.dst);
      if (d.is_pointer()) fail(s, rname(i.dst) + " byte swap of a pointer prohibited", {}, {i.dst});
      Scalar v = d.v;
      // ALU64 END (bswap) always swaps; ALU END swaps only when the target byte order differs
      // from the host's (little-endian: BE swaps, LE truncates).
      const bool swap = is64 || x;
      Reg& w = write_reg(s, i.dst);
      w = Reg::scalar(swap ? v.bswap(i.imm) : v.zext_low(i.imm));
      return;
    }
    if (op == NEG) {
      const Reg& d = read_reg(s, i.dst);
      if (d.is_pointer()) fail(s, rname(i.dst) + " pointer arithmetic with neg operator prohibited", {}, {i.dst});
      const Scalar v = is64 ? d.v.neg64() : d.v.neg32();
      write_reg(s, i.dst) = Reg::scalar(v);
      return;
    }
    if (op == MOV) {
      if (!x) {
        if (i.src != 0 || i.off != 0)
          fail(s, "BPF_MOV uses reserved fields", "a mov of an immediate has src_reg and offset 0 (RFC 9669)");
        write_reg(s, i.dst) = Reg::scalar(is64 ? Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(i.imm)))
                                               : Scalar::constant(static_cast<uint32_t>(i.imm)));
        return;
      }
      Reg src = read_reg(s, i.src);
      if (i.off != 0) {  // movsx
        if (i.off != 8 && i.off != 16 && (i.off != 32 || !is64)) fail(s, "invalid movsx offset " + std::to_string(i.off));
        if (src.is_pointer()) fail(s, rname(i.src) + " sign-extension part of pointer", {}, {i.src});
        write_reg(s, i.dst) = Reg::scalar(is64 ? src.v.sext(i.off / 8) : src.v.sext32(i.off / 8));
        return;
      }
      if (!is64) {
        if (src.is_pointer()) fail(s, rname(i.src) + " partial copy of pointer", "copy pointers with 64-bit moves", {i.src});
        write_reg(s, i.dst);  // (checks dst)
        zext_linked(s, i.dst, i.src);
        return;
      }
      if (src.type == RegType::Scalar && src.id == 0 && !src.v.is_const()) {
        // Linked copies: a bound learnt on one later applies to both.
        s.cur().regs[i.src].id = src.id = new_id();
      }
      write_reg(s, i.dst) = src;
      return;
    }
    const std::optional<AluOp> aop0 = alu_of(op);
    const bool signed_div = (op == DIV || op == MOD) && i.off == 1;
    if (!aop0) fail(s, "unknown ALU opcode " + std::to_string(i.code));
    const AluOp aop = signed_div ? (op == DIV ? AluOp::SDiv : AluOp::SMod) : *aop0;
    if (i.off != 0 && !((op == DIV || op == MOD) && i.off == 1)) fail(s, "BPF_ALU uses reserved fields");
    Reg d = read_reg(s, i.dst);
    Reg src = x ? read_reg(s, i.src) : Reg::scalar(is64 ? Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(i.imm)))
                                                         : Scalar::constant(static_cast<uint32_t>(i.imm)));
    if (!x && (op == DIV || op == MOD) && i.imm == 0) fail(s, "div by zero", "dividing by a constant 0 is always a mistake");
    if (!x && (op == LSH || op == RSH || op == ARSH) && (i.imm < 0 || i.imm >= (is64 ? 64 : 32)))
      fail(s, "invalid shift " + std::to_string(i.imm));
    if (d.is_pointer() || src.is_pointer()) {
      pointer_alu(s, i, is64, op, d, src);
      return;
    }
    const Scalar v = is64 ? Scalar::alu64(aop, d.v, src.v) : Scalar::alu32(aop, d.v, src.v);
    write_reg(s, i.dst) = Reg::scalar(v);
  }

  void pointer_alu(State& s, const Insn& i, bool is64, uint8_t op, Reg d, Reg src) {
    const bool x = source(i.code) == X;
    if (!is64) fail(s, rname(i.dst) + " 32-bit pointer arithmetic prohibited", {}, {i.dst});
    if (d.is_pointer() && src.is_pointer()) {
      if (op == SUB && d.type == src.type && d.map == src.map && d.frame == src.frame && d.ref == src.ref &&
          (d.type == RegType::PacketData || d.type == RegType::PacketEnd || d.type == RegType::Stack ||
           d.type == RegType::MapValue)) {
        write_reg(s, i.dst) = Reg::scalar(Scalar::unknown());
        return;
      }
      if (op == SUB && ((d.type == RegType::PacketEnd && src.type == RegType::PacketData) ||
                        (d.type == RegType::PacketData && src.type == RegType::PacketEnd)) && d.ref == src.ref) {
        write_reg(s, i.dst) = Reg::scalar(Scalar::unknown());
        return;
      }
      fail(s, rname(i.dst) + " pointer " + alu_name(op) + " pointer prohibited",
           "only the difference of two pointers into the same object is a number", {i.dst, static_cast<int>(i.src)});
    }
    // One pointer, one scalar: only ptr += scalar, ptr -= scalar, scalar += ptr.
    const bool ptr_is_dst = d.is_pointer();
    Reg ptr = ptr_is_dst ? d : src;
    const Reg& num = ptr_is_dst ? src : d;
    const int preg = ptr_is_dst ? i.dst : i.src;
    if (!(op == ADD || (op == SUB && ptr_is_dst)))
      fail(s, rname(i.dst) + " pointer arithmetic with " + alu_name(op) + " operator prohibited",
           "pointers may only be moved by adding or subtracting a number", {i.dst, x ? static_cast<int>(i.src) : -1});
    if (ptr.maybe_null)
      fail(s, rname(preg) + " pointer arithmetic on " + type_name(ptr.type) + "_or_null prohibited, null-check it first",
           rname(preg) + " may be NULL here: compare it with NULL (it came from " + origin_name(ptr.origin) + ", " +
               at(ptr.origin) + ")",
           {preg});
    switch (ptr.type) {
      case RegType::Ctx:
      case RegType::Stack:
      case RegType::MapValue:
      case RegType::PacketData:
      case RegType::Skb:
      case RegType::RingbufMem:
      case RegType::Mem:
        break;
      case RegType::Kernel:
      case RegType::Object:
        // Fields are found by constant offset (container_of included).
        if (!num.v.is_const())
          fail(s, rname(preg) + " variable offset on " + type_name(ptr.type) + " prohibited",
               "move the pointer by constants only (a field's offset)", {preg});
        break;
      case RegType::MapPtr:
        if (num.v.is_const() && num.v.const_value() == 0) {
          write_reg(s, i.dst) = ptr;
          return;
        }
        [[fallthrough]];
      default:
        fail(s, rname(preg) + " pointer arithmetic on " + type_name(ptr.type) + " prohibited", {}, {preg});
    }
    Scalar delta = num.v;
    if (op == SUB) delta = delta.neg64();
    if (delta.is_const()) {
      const auto k = static_cast<int64_t>(delta.const_value());
      if (k <= -kMaxVarOff || k >= kMaxVarOff || ptr.off + k <= -kMaxVarOff || ptr.off + k >= kMaxVarOff)
        fail(s, "value " + std::to_string(k) + " makes " + type_name(ptr.type) + " pointer be out of bounds", {}, {preg});
      ptr.off += k;
    } else {
      if (delta.smin <= -kMaxVarOff || delta.smax >= kMaxVarOff)
        fail(s, "math between " + std::string(type_name(ptr.type)) +
                    " pointer and register with unbounded min value is not allowed",
             "bound the number first, e.g. `if (i >= N) return ...;` with N the size of what the pointer points to",
             {i.dst, x ? static_cast<int>(i.src) : -1});
      ptr.v = Scalar::alu64(AluOp::Add, ptr.v, delta);
      if (ptr.v.smin <= -kMaxVarOff || ptr.v.smax >= kMaxVarOff)
        fail(s, "pointer offset of " + std::string(type_name(ptr.type)) + " may be out of bounds", {}, {preg});
      if (ptr.type == RegType::PacketData) {
        ptr.id = new_id();  // a new base: its range must be proven again
        ptr.range = 0;
      }
    }
    write_reg(s, i.dst) = ptr;
  }

  // ---- memory
  struct Access {
    int64_t lo, hi;  // bytes [lo, hi) relative to the object's start, over every offset possible
  };

  Access span_of(const Reg& base, int16_t off, int size) const {
    return {base.off + base.v.smin + off, base.off + base.v.smax + off + size};
  }

  // The bytes of object `base` accessed, checked against [0, limit).
  void check_bounds(const State& s, int r, const Reg& base, int16_t off, int size, int64_t limit, const char* what,
                    const std::string& hint) {
    if (!base.v.is_const() && (base.v.smin < 0 || base.v.umax >= static_cast<uint64_t>(kMaxVarOff)))
      fail(s, rname(r) + " unbounded memory access, make sure to bounds check any such access",
           "compare the index with the size before adding it to the pointer", {r});
    const Access a = span_of(base, off, size);
    if (a.lo < 0 || a.hi > limit)
      fail(s, std::string("invalid access to ") + what + ", size=" + std::to_string(limit) + " off=" +
                  std::to_string(a.lo) + (base.v.is_const() ? "" : ".." + std::to_string(a.hi - size)) +
                  " size=" + std::to_string(size),
           hint, {r});
  }

  // Packet bytes: proven by a comparison with data_end.
  void check_packet(const State& s, int r, const Reg& base, int16_t off, int size) {
    if (base.v.smin < 0 || base.v.umax > kMaxPacketOff)
      fail(s, rname(r) + " offset is outside of the packet", "bound the variable part of the offset (0..65535)", {r});
    const int64_t lo = base.off + off;
    if (lo < 0 || lo + size > static_cast<int64_t>(base.range))
      fail(s, "invalid access to packet, off=" + std::to_string(lo) + " size=" + std::to_string(size) + ", " + rname(r) +
                  "(id=" + std::to_string(base.id) + ",off=" + std::to_string(base.off) + ",r=" +
                  std::to_string(base.range) + ")",
           "compare the pointer with data_end first: `if (data + " + std::to_string(lo + size) +
               " > data_end) return ...;` proves these bytes are in the packet",
           {r});
  }

  int stack_index(int64_t off) const { return static_cast<int>((-off - 1) / 8); }

  // The slot of a stack byte, to write (the stack grows to it).
  StackSlot& slot(Frame& f, int64_t byte_off) {
    const size_t idx = static_cast<size_t>(stack_index(byte_off));
    if (f.stack.size() <= idx) f.stack.resize(idx + 1);
    return f.stack.mut(idx);
  }

  // The same, to read: grows the stack alike, but leaves a shared frame and stack shared (see
  // Frames, Stack).
  const StackSlot& read_slot(State& s, uint8_t frame, int64_t byte_off) {
    const size_t idx = static_cast<size_t>(stack_index(byte_off));
    if (s.frames[frame].stack.size() <= idx) s.frames.mut(frame).stack.resize(idx + 1);
    return s.frames[frame].stack[idx];
  }

  // Stack byte offsets [lo, hi) (negative, from r10) must lie in the frame.
  void check_stack_range(const State& s, int r, int64_t lo, int64_t hi, bool write, int size) {
    if (lo < -kStackSize || hi > 0)
      fail(s, std::string("invalid ") + (write ? "write" : "read") + " to stack " + rname(r) + " off=" +
                  std::to_string(lo) + " size=" + std::to_string(size),
           "the stack is the 512 bytes below r10: offsets -512..-1", {r});
  }

  // The frame a stack pointer points into, to write.
  Frame& frame_of(State& s, const Reg& base) { return s.frames.mut(base.frame); }

  void load(State& s, const Insn& i) {
    const uint8_t mode = mem_mode(i.code);
    if (mode != MEM && mode != MEMSX) fail(s, "unknown opcode " + std::to_string(i.code));
    const int size = size_bytes(mem_size(i.code));
    if (mode == MEMSX && size == 8) fail(s, "unknown opcode " + std::to_string(i.code));
    const Reg base = read_reg(s, i.src);
    Reg out = Reg::scalar(mode == MEMSX ? Scalar::unknown_signed_of_size(size) : Scalar::unknown_of_size(size));
    if (base.maybe_null) fail_not_pointer(s, i.src, "reading through");
    switch (base.type) {
      case RegType::Ctx:
        out = type_.ctx == CtxKind::StructOpsArgs ? op_arg_load(s, i, base, size)
                                                  : ctx_load(s, i, base, size, qdisc_ctx_layout());
        break;
      case RegType::Kernel: out = kernel_load(s, i, base, size); break;
      case RegType::Object: out = object_access(s, i.src, base, i.off, size, false); break;
      case RegType::Mem:
        check_bounds(s, i.src, base, i.off, size, base.size, "read-only memory",
                     "the slice or number is " + std::to_string(base.size) + " bytes");
        break;
      case RegType::Skb: out = ctx_load(s, i, base, size, sk_buff_layout()); break;
      case RegType::Stack: out = stack_load(s, i, base, size); break;
      case RegType::MapValue: {
        check_bounds(s, i.src, base, i.off, size, base.map->value_size, "map value",
                     "map '" + base.map->name + "' has " + std::to_string(base.map->value_size) + "-byte values");
        check_not_lock(s, i.src, base, i.off, size);
        break;  // a number, including a load of a kptr field (not a usable packet)
      }
      case RegType::PacketData: check_packet(s, i.src, base, i.off, size); break;
      case RegType::RingbufMem:
        check_bounds(s, i.src, base, i.off, size, base.size, "ringbuf memory", "the reservation's size");
        break;
      default: fail_not_pointer(s, i.src, "reading through");
    }
    if (mode == MEMSX && out.type == RegType::Scalar) out.v = out.v.sext(size);
    write_reg(s, i.dst) = out;
  }

  Reg ctx_load(State& s, const Insn& i, const Reg& base, int size, const CtxLayout& layout) {
    if (!base.v.is_const() || base.off + static_cast<int64_t>(base.v.const_value()) != 0)
      fail(s, "dereference of modified " + std::string(type_name(base.type)) + " ptr " + rname(i.src) +
                  " off=" + std::to_string(base.off) + " disallowed",
           "read context fields through the context pointer itself: ctx->field", {i.src});
    const int64_t off = i.off;
    const CtxField* f = off >= 0 ? layout.field_at(static_cast<uint32_t>(off)) : nullptr;
    if (!f || off + size > f->offset + f->size || (size != static_cast<int>(f->size) && !f->narrow_reads))
      fail(s, "invalid bpf_context access off=" + std::to_string(off) + " size=" + std::to_string(size),
           std::string(layout.type_name) + (f ? " field " + std::string(f->name) + " is read whole" : " has no field there"),
           {i.src});
    Reg out = Reg::scalar(Scalar::unknown_of_size(size));
    switch (f->kind) {
      case FieldKind::Scalar: break;
      case FieldKind::Skb:
        if (type_.ctx_skb_in) {
          out = Reg{};
          out.type = RegType::Skb;
        }
        break;
      case FieldKind::KernelSkb:  // the packet offered, borrowed for the run
        if (!type_.ctx_skb_in)
          fail(s, "invalid bpf_context access off=" + std::to_string(off) + " size=" + std::to_string(size) +
                      ": ctx->skb is not readable in " + std::string(type_.name),
               "only qdisc/enqueue is given a packet in ctx->skb", {i.src});
        out = Reg{};
        out.type = RegType::Kernel;
        out.btf_id = skb_btf_;
        break;
      case FieldKind::PacketData:
        out = Reg{};
        out.type = RegType::PacketData;
        out.ref = base.ref;
        out.id = new_id();
        break;
      case FieldKind::PacketEnd:
        out = Reg{};
        out.type = RegType::PacketEnd;
        out.ref = base.ref;
        break;
    }
    return out;
  }

  // ---- struct_ops: the op's arguments, kernel structs, graph objects

  // ctx[n] of a struct_ops op: its n-th argument, typed (Linux's BPF_PROG reads them whole).
  Reg op_arg_load(State& s, const Insn& i, const Reg& base, int size) {
    const int64_t off = base.off + (base.v.is_const() ? static_cast<int64_t>(base.v.const_value()) : -1) + i.off;
    if (!base.v.is_const() || off < 0 || off % 8 != 0 || size != 8 ||
        static_cast<size_t>(off / 8) >= type_.op_args.size())
      fail(s, "invalid bpf_context access off=" + std::to_string(off) + " size=" + std::to_string(size),
           std::string(type_.name) + " has " + std::to_string(type_.op_args.size()) +
               " arguments, read whole (u64) from ctx[0.." + std::to_string(type_.op_args.size() - 1) + "]",
           {i.src});
    Reg out;
    out.type = RegType::Kernel;
    switch (type_.op_args[off / 8]) {
      case OpArg::OwnedSkb:
        out.btf_id = skb_btf_;
        out.ref = entry_skb_ref_;
        // Released already: the copy read now is as dead as the others.
        if (std::none_of(s.refs.begin(), s.refs.end(), [&](const RefEntry& e) { return e.id == out.ref; }))
          out = Reg::scalar(Scalar::unknown());
        break;
      case OpArg::Qdisc: out.btf_id = qdisc_btf_; break;
      case OpArg::ToFree: out.btf_id = to_free_btf_; break;
      case OpArg::Opaque: out = Reg::scalar(Scalar::unknown()); break;
    }
    return out;
  }

  // A field of a kernel struct: a number, or (a whole pointer to a struct) an untrusted pointer.
  Reg kernel_load(State& s, const Insn& i, const Reg& base, int size) {
    if (base.untrusted)
      fail_unsupported(s, "reading through an untrusted pointer: " + rname(i.src) + "=" + describe(base),
                       "bpfq does not yet prove reads through pointers loaded from kernel structs; "
                       "the program runs checked");
    const KernelBtf::Field f = kernel_field(s, i.src, base, i.off, size);
    if (!f.pointee) return Reg::scalar(Scalar::unknown_of_size(size));
    Reg out;
    out.type = RegType::Kernel;
    out.btf_id = f.pointee;
    out.untrusted = true;
    return out;
  }

  KernelBtf::Field kernel_field(const State& s, int r, const Reg& base, int16_t off, int size) {
    if (!base.v.is_const())
      fail(s, "variable offset access to " + kbtf_->struct_name(base.btf_id) + " through " + rname(r) +
                  " is not allowed", "access kernel struct fields by name (constant offsets)", {r});
    const int64_t at = base.off + static_cast<int64_t>(base.v.const_value()) + off;
    KernelBtf::Field f = kbtf_->access(base.btf_id, at, size);
    if (!f.error.empty())
      fail(s, "invalid access to struct " + kbtf_->struct_name(base.btf_id) + ": " + f.error,
           "read fields of the struct as bpfq's vmlinux.h (bpfq btf dump) declares them", {r});
    return f;
  }

  // Linux's bpf qdisc lets programs write sk_buff tstamp and cb, Qdisc limit, q.qlen and qstats
  // of the op's own (trusted) arguments, nothing else.
  void kernel_store(State& s, const Insn& i, const Reg& base, const Reg& val, int size) {
    if (base.untrusted)
      fail(s, "only read is supported through untrusted " + rname(i.dst) + "=" + describe(base) + ": writes " +
                  std::to_string(size) + " bytes",
           "a pointer loaded from a kernel struct field is untrusted: write only the op's own arguments (skb, sch)",
           {i.dst});
    const KernelBtf::Field f = kernel_field(s, i.dst, base, i.off, size);
    const int64_t at = base.off + static_cast<int64_t>(base.v.const_value()) + i.off;
    bool ok = false;
    std::string allowed;
    for (const WritableField& w : writable_) {
      if (w.struct_id != base.btf_id) continue;
      allowed += (allowed.empty() ? "" : ", ") + w.path;
      ok = ok || (at >= w.off && at + size <= static_cast<int64_t>(w.off) + w.size);
    }
    if (!ok)
      fail(s, "no write support to " + f.path + " (" + std::to_string(size) + " bytes at offset " + std::to_string(at) + ")",
           allowed.empty() ? "struct " + kbtf_->struct_name(base.btf_id) + " is read-only to programs"
                           : "programs may write " + allowed + " only",
           {i.dst});
    if (val.is_pointer())
      fail(s, rname(i.src) + " leaks addr into " + f.path, "kernel struct fields take numbers",
           {static_cast<int>(i.src)});
  }

  // A byte range of a graph object: inside it, clear of the fields its kfuncs own (a kptr may be
  // read, as a number).
  Reg object_access(const State& s, int r, const Reg& base, int16_t off, int size, bool write) {
    const loader::LocalType* t = obj_.local_type(base.btf_id);
    if (!t) fail(s, "internal: object of unknown type " + std::to_string(base.btf_id), {}, {r});
    if (!base.v.is_const())
      fail(s, "variable offset access to struct " + t->name + " through " + rname(r) + " is not allowed",
           "access object fields by name (constant offsets)", {r});
    check_bounds(s, r, base, off, size, t->size, ("object struct " + t->name).c_str(),
                 "struct " + t->name + " has " + std::to_string(t->size) + " bytes");
    const Access a = span_of(base, off, size);
    for (const loader::SpecialField& sf : t->fields) {
      if (a.lo >= sf.offset + special_size(sf.kind) || a.hi <= sf.offset) continue;
      if (sf.kind == loader::SpecialKind::Kptr && !write) continue;
      fail(s, std::string(write ? "writes to " : "reads ") + special_name(sf.kind) + " at offset " +
                  std::to_string(sf.offset) + " of struct " + t->name + " directly",
           sf.kind == loader::SpecialKind::Kptr ? "a kptr changes only through bpf_kptr_xchg"
                                                : std::string(special_name(sf.kind)) + " is used only through its kfuncs",
           {r});
    }
    return Reg::scalar(Scalar::unknown_of_size(size));
  }

  Reg stack_load(State& s, const Insn& i, const Reg& base, int size) {
    const Access a = span_of(base, i.off, size);
    check_stack_range(s, i.src, a.lo, a.hi, false, size);
    check_no_stack_object(s, i.src, base.frame, a.lo, a.hi, false);
    if (!base.v.is_const()) {
      for (int64_t b = a.lo; b < a.hi; ++b) {
        const StackSlot& sl = read_slot(s, base.frame, b);
        const SlotByte k = sl.bytes[(b + kStackSize) % 8];
        if (k == SlotByte::Invalid)
          fail(s, "invalid variable-offset read from stack " + rname(i.src) + " off=" + std::to_string(b),
               "initialise every byte the index may reach", {i.src});
        if (k == SlotByte::Spill && sl.spill.is_pointer())
          fail(s, "reading a spilled pointer through a variable offset " + rname(i.src), {}, {i.src});
      }
      return Reg::scalar(Scalar::unknown_of_size(size));
    }
    const int64_t lo = a.lo;
    const StackSlot& sl = read_slot(s, base.frame, lo);
    const int at_byte = static_cast<int>((lo + kStackSize) % 8);
    if (at_byte + size > 8)
      fail(s, "misaligned stack access off=" + std::to_string(lo) + " size=" + std::to_string(size), {}, {i.src});
    const bool spilled_here = sl.spill_size != 0 && sl.spill_at == at_byte && sl.spill_size == size;
    if (spilled_here && sl.bytes[at_byte] == SlotByte::Spill) return sl.spill;
    bool all_zero = true;
    for (int b = at_byte; b < at_byte + size; ++b) {
      switch (sl.bytes[b]) {
        case SlotByte::Invalid:
          fail(s, "invalid read from stack off " + std::to_string(lo) + "+0 size " + std::to_string(size),
               "this stack memory is read before anything was written to it on this path", {i.src});
        case SlotByte::Spill:
          if (sl.spill.is_pointer())
            fail(s, "invalid size of register fill",
                 "a spilled pointer is read back whole, with an 8-byte load at the same offset", {i.src});
          all_zero = false;
          break;
        case SlotByte::Misc: all_zero = false; break;
        case SlotByte::Zero: break;
      }
    }
    return Reg::scalar(all_zero ? Scalar::constant(0) : Scalar::unknown_of_size(size));
  }

  void store(State& s, const Insn& i) {
    const bool stx = insn_class(i.code) == STX;
    const uint8_t mode = mem_mode(i.code);
    const int size = size_bytes(mem_size(i.code));
    if (mode == ATOMIC && stx) return atomic(s, i, size);
    if (mode != MEM) fail(s, "unknown opcode " + std::to_string(i.code));
    const Reg base = read_reg(s, i.dst);
    const Reg val = stx ? read_reg(s, i.src) : Reg::scalar(Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(i.imm))));
    if (base.maybe_null) fail_not_pointer(s, i.dst, "writing through");
    auto no_pointer = [&](const char* into) {
      if (val.is_pointer())
        fail(s, rname(i.src) + " leaks addr into " + into,
             "only numbers may be stored there; packets go into maps through bpf_kptr_xchg", {static_cast<int>(i.src)});
    };
    switch (base.type) {
      case RegType::Ctx:
        if (type_.ctx == CtxKind::StructOpsArgs)
          fail(s, "the arguments of " + std::string(type_.name) + " are read-only", {}, {i.dst});
        ctx_store(s, i, base, val, size, qdisc_ctx_layout());
        break;
      case RegType::Kernel: kernel_store(s, i, base, val, size); break;
      case RegType::Object:
        no_pointer("object");
        object_access(s, i.dst, base, i.off, size, true);
        break;
      case RegType::Mem: fail(s, "cannot write into rdonly_mem " + rname(i.dst), "dynptr slices of a packet and "
                                 "iterator numbers are read-only", {i.dst});
      case RegType::Skb: ctx_store(s, i, base, val, size, sk_buff_layout()); break;
      case RegType::Stack: stack_store(s, i, base, val, size); break;
      case RegType::MapValue: {
        no_pointer("map");
        const maps::MapSpec& m = *base.map;
        check_bounds(s, i.dst, base, i.off, size, m.value_size, "map value",
                     "map '" + m.name + "' has " + std::to_string(m.value_size) + "-byte values");
        if (m.read_only)
          fail(s, "write into map forbidden, value_size=" + std::to_string(m.value_size) + " off=" +
                      std::to_string(span_of(base, i.off, size).lo) + " size=" + std::to_string(size),
               "map '" + m.name + "' is read-only to programs (.rodata or BPF_F_RDONLY_PROG)", {i.dst});
        check_not_kptr(s, i.dst, base, i.off, size);
        check_not_lock(s, i.dst, base, i.off, size);
        break;
      }
      case RegType::PacketData: no_pointer("packet"); check_packet(s, i.dst, base, i.off, size); break;
      case RegType::RingbufMem:
        no_pointer("mem");
        check_bounds(s, i.dst, base, i.off, size, base.size, "ringbuf memory", "the reservation's size");
        break;
      default: fail_not_pointer(s, i.dst, "writing through");
    }
  }

  void check_not_kptr(const State& s, int r, const Reg& base, int16_t off, int size) {
    const Access a = span_of(base, off, size);
    for (uint32_t k : base.map->kptr_offsets)
      if (a.lo < static_cast<int64_t>(k) + 8 && a.hi > static_cast<int64_t>(k))
        fail(s, "store to referenced kptr disallowed",
             "a packet-reference field of map '" + base.map->name + "' (offset " + std::to_string(k) +
                 ") changes only through bpf_kptr_xchg",
             {r});
  }

  // The lock word changes only through bpf_spin_lock/unlock: a store could fake a holder and
  // make the next bpf_spin_lock spin forever.
  void check_not_lock(const State& s, int r, const Reg& base, int16_t off, int size) {
    const std::optional<uint32_t> lock_off = lock_offset(base);
    if (!lock_off) return;
    const int64_t k = *lock_off;
    const Access a = span_of(base, off, size);
    if (a.lo < k + 4 && a.hi > k)
      fail(s, "bpf_spin_lock cannot be accessed directly by load/store",
           "map '" + base.map->name + "' holds its lock at offset " + std::to_string(k) +
               ": use bpf_spin_lock()/bpf_spin_unlock() on it, and the other fields inside the lock",
           {r});
  }

  void ctx_store(State& s, const Insn& i, const Reg& base, const Reg& val, int size, const CtxLayout& layout) {
    if (!base.v.is_const() || base.off + static_cast<int64_t>(base.v.const_value()) != 0)
      fail(s, "dereference of modified " + std::string(type_name(base.type)) + " ptr " + rname(i.dst) +
                  " off=" + std::to_string(base.off) + " disallowed",
           "write context fields through the context pointer itself: ctx->field", {i.dst});
    const int64_t off = i.off;
    const CtxField* f = off >= 0 ? layout.field_at(static_cast<uint32_t>(off)) : nullptr;
    // One store may cover adjacent writable number fields (clang merges mark and queue_mapping).
    bool spans_writable = f && f->writable && f->kind == FieldKind::Scalar;
    for (int64_t b = off; spans_writable && b < off + size; ++b) {
      const CtxField* g = layout.field_at(static_cast<uint32_t>(b));
      spans_writable = g && g->writable && g->kind == FieldKind::Scalar;
    }
    if (!f || (off + size > f->offset + f->size && !spans_writable))
      fail(s, "invalid bpf_context access off=" + std::to_string(off) + " size=" + std::to_string(size),
           std::string(layout.type_name) + " has no field there", {i.dst});
    if (!f->writable) {
      if (layout.size == sk_buff_layout().size)
        fail(s, "writes " + std::to_string(size) + " bytes to __sk_buff." + std::string(f->name) + ", which is read-only",
             "programs may write mark, priority, queue_mapping, tc_index, cb[0..4], tc_classid and tstamp; the "
             "packet's bytes are written through skb->data",
             {i.dst});
      fail(s, "invalid bpf_context access off=" + std::to_string(off) + " size=" + std::to_string(size) + ": " +
                  std::string(f->name) + " is read-only", {}, {i.dst});
    }
    if (f->kind == FieldKind::Skb) return ctx_skb_store(s, i, val, size);
    if (size != static_cast<int>(f->size) && !f->narrow_reads)
      fail(s, "invalid bpf_context access off=" + std::to_string(off) + " size=" + std::to_string(size), {}, {i.dst});
    if (val.is_pointer())
      fail(s, rname(i.src) + " leaks addr into ctx",
           std::string("ctx->") + std::string(f->name) + " takes a number" +
               (val.type == RegType::Skb && val.ref ? "; hand a packet out in ctx->skb (qdisc/dequeue), or move it into a map with bpf_kptr_xchg" : ""),
           {static_cast<int>(i.src)});
  }

  // qdisc/dequeue hands a packet reference out in ctx->skb; nothing else writes it.
  void ctx_skb_store(State& s, const Insn& i, const Reg& val, int size) {
    if (!type_.ctx_skb_out)
      fail(s, "ctx->skb is read-only in " + std::string(type_.name),
           "only qdisc/dequeue writes ctx->skb, to hand out the packet it dequeued", {i.dst});
    if (size != 8) fail(s, "invalid bpf_context access off=0 size=" + std::to_string(size), "ctx->skb is written whole", {i.dst});
    if (s.ctx_skb_set)
      fail(s, "ctx->skb already holds the packet handed out: writing it again would lead to reference leak",
           "write ctx->skb once, with the packet to send", {i.dst});
    if (val.type == RegType::Scalar) {
      if (!(val.v.is_const() && val.v.const_value() == 0))
        fail(s, "ctx->skb must be a packet reference or NULL", "store the reference a queue or map gave you",
             {static_cast<int>(i.src)});
      return;
    }
    if (val.type != RegType::Skb || val.ref == 0 || val.off != 0 || !val.v.is_const() || val.v.const_value() != 0)
      fail(s, rname(i.src) + " must be a referenced packet to hand out in ctx->skb",
           "hand out a packet reference you hold (from bpf_skb_queue_pop, bpf_kptr_xchg, bpf_skb_acquire)",
           {static_cast<int>(i.src)});
    s.ctx_skb_set = true;
    s.ctx_skb_id = val.maybe_null ? val.id : 0;
    hand_out(s, val.ref);
  }

  // The reference now belongs to the qdisc (ctx->skb): the program may still read the packet
  // and test it for NULL during this run, but no longer release or store it.
  void hand_out(State& s, uint32_t ref) {
    std::erase_if(s.refs, [&](const RefEntry& e) { return e.id == ref; });
    for_each_reg(s, [&](Reg& r) {
      if (r.ref == ref && r.is_pointer()) r.ref = 0;
    });
  }

  // Dynptrs and iterators on the stack change only through their kfuncs; a write over a dynptr
  // ends it (both halves), one over an iterator would leak it.
  void check_no_stack_object(State& s, int r, uint8_t frame, int64_t lo, int64_t hi, bool write) {
    for (int64_t b = lo; b < hi; b += 1) {
      const Frame& f = s.frames[frame];  // (again each time: a write below may copy the frame)
      const size_t idx = static_cast<size_t>(stack_index(b));
      if (idx >= f.stack.size() || f.stack[idx].object == SlotObject::None) continue;
      const StackSlot& sl = f.stack[idx];
      const bool iter = sl.object == SlotObject::Iter;
      if (!write || iter)
        fail(s, std::string(write ? "cannot overwrite " : "cannot read ") + (iter ? "iterator" : "dynptr") + " at fp" +
                    std::to_string(-8 * static_cast<int64_t>(idx + 1)) + " directly",
             iter ? "a struct bpf_iter_num changes only through bpf_iter_num_new/next/destroy"
                  : "read a dynptr's bytes with bpf_dynptr_read or bpf_dynptr_slice",
             {r});
      const size_t other = sl.object == SlotObject::DynptrFirst ? idx - 1 : idx + 1;
      for (size_t k : {idx, other})
        if (k < f.stack.size()) {
          StackSlot& end = s.frames.mut(frame).stack.mut(k);
          end.object = SlotObject::None;
          end.object_ref = 0;
          end.bytes.fill(SlotByte::Invalid);
        }
    }
  }

  void stack_store(State& s, const Insn& i, const Reg& base, const Reg& val, int size) {
    const Access a = span_of(base, i.off, size);
    check_stack_range(s, i.dst, a.lo, a.hi, true, size);
    check_no_stack_object(s, i.dst, base.frame, a.lo, a.hi, true);
    Frame& f = frame_of(s, base);
    if (val.type == RegType::Stack && base.frame < val.frame)
      fail(s, "cannot spill pointers to stack into stack frame of the caller",
           "a callee's stack ends when it returns: keep pointers to it in its own frame", {i.dst});
    if (!base.v.is_const()) {
      if (val.is_pointer()) fail(s, "spilled ptr through a variable-offset stack write", {}, {i.dst});
      for (int64_t b = a.lo; b < a.hi; ++b) {
        StackSlot& sl = slot(f, b);
        forget_spill(sl);
        sl.bytes[(b + kStackSize) % 8] = SlotByte::Misc;
      }
      return;
    }
    const int64_t lo = a.lo;
    const int at_byte = static_cast<int>((lo + kStackSize) % 8);
    if (at_byte + size > 8) fail(s, "misaligned stack access off=" + std::to_string(lo) + " size=" + std::to_string(size), {}, {i.dst});
    StackSlot& sl = slot(f, lo);
    if (val.is_pointer()) {
      if (size != 8) fail(s, "invalid size of register spill", "pointers are spilled whole: 8-byte stores", {i.dst});
      sl.bytes.fill(SlotByte::Spill);
      sl.spill = val;
      sl.spill_at = 0;
      sl.spill_size = 8;
      return;
    }
    // Partly overwriting a spill turns the rest into plain bytes.
    if (sl.spill_size != 0 && !(sl.spill_at == at_byte && sl.spill_size == size)) forget_spill(sl);
    if (val.v.is_const() && val.v.const_value() == 0 && !(size == 8 && val.id != 0)) {
      if (sl.spill_size != 0) forget_spill(sl);
      for (int b = at_byte; b < at_byte + size; ++b) sl.bytes[b] = SlotByte::Zero;
      return;
    }
    // A scalar keeps its bounds when read back at the same offset and size.
    sl.spill = Reg::scalar(size == 8 ? val.v : val.v.truncate(size));
    if (size == 8) sl.spill.id = val.id;
    sl.spill_at = static_cast<uint8_t>(at_byte);
    sl.spill_size = static_cast<uint8_t>(size);
    for (int b = at_byte; b < at_byte + size; ++b) sl.bytes[b] = SlotByte::Spill;
  }

  // What a spill's bytes become when part of it is overwritten: a number's are any number; a
  // pointer's are unreadable (they would expose the pointer's bits as a number).
  static void forget_spill(StackSlot& sl) {
    const SlotByte rest = sl.spill.is_pointer() ? SlotByte::Invalid : SlotByte::Misc;
    for (auto& b : sl.bytes)
      if (b == SlotByte::Spill) b = rest;
    sl.spill = Reg{};
    sl.spill_size = 0;
    sl.spill_at = 0;
  }

  void atomic(State& s, const Insn& i, int size) {
    if (size != 4 && size != 8) fail(s, "invalid atomic operand size", "atomics work on 4 or 8 bytes");
    const int32_t op = i.imm;
    const int32_t base_op = op & ~ATOMIC_FETCH;
    if (!(base_op == ATOMIC_ADD || base_op == ATOMIC_OR || base_op == ATOMIC_AND || base_op == ATOMIC_XOR ||
          op == ATOMIC_XCHG || op == ATOMIC_CMPXCHG))
      fail(s, "BPF_ATOMIC uses invalid atomic opcode " + std::to_string(op));
    const Reg base = read_reg(s, i.dst);
    const Reg val = read_reg(s, i.src);
    if (val.is_pointer()) fail(s, rname(i.src) + " leaks addr into mem", "atomics work on numbers", {static_cast<int>(i.src)});
    if (op == ATOMIC_CMPXCHG) {
      const Reg& r0 = read_reg(s, 0);
      if (r0.is_pointer()) fail(s, "R0 leaks addr into mem", "atomics work on numbers", {0});
    }
    if (base.maybe_null) fail_not_pointer(s, i.dst, "writing through");
    if (base.type == RegType::Stack) {
      // The read half: the bytes must be initialised, and a number (a spilled pointer's bits
      // would come back as one).
      if (stack_load(s, Insn::make(LDX | MEM | mem_size(i.code), 0, i.dst, i.off), base, size).is_pointer())
        fail(s, "BPF_ATOMIC on a spilled pointer at fp" + std::to_string(span_of(base, i.off, size).lo) +
                    " is not allowed",
             "atomics work on numbers", {i.dst});
      stack_store(s, i, base, Reg::scalar(Scalar::unknown_of_size(size)), size);
    } else if (base.type == RegType::MapValue) {
      const maps::MapSpec& m = *base.map;
      check_bounds(s, i.dst, base, i.off, size, m.value_size, "map value", "map '" + m.name + "'");
      if (m.read_only) fail(s, "write into map forbidden", "map '" + m.name + "' is read-only", {i.dst});
      check_not_kptr(s, i.dst, base, i.off, size);
      check_not_lock(s, i.dst, base, i.off, size);
    } else {
      fail(s, "BPF_ATOMIC stores into " + rname(i.dst) + " " + type_name(base.type) + " is not allowed",
           "atomics work on the stack and on map values", {i.dst});
    }
    // Aligned whatever the variable part: its low bits must be known (value and map memory
    // start 8-byte aligned).
    const Access a = span_of(base, i.off, size);
    const uint64_t low = static_cast<uint64_t>(size - 1);
    if ((base.v.bits.mask & low) != 0 || ((base.v.bits.value + static_cast<uint64_t>(base.off + i.off)) & low) != 0)
      fail(s, "misaligned access off " + std::to_string(a.lo) + " size " + std::to_string(size),
           base.v.is_const() ? "" : "a variable offset must keep the access aligned: mask it (& ~" + std::to_string(low) + ")",
           {i.dst});
    if (op == ATOMIC_CMPXCHG) write_reg(s, 0) = Reg::scalar(Scalar::unknown_of_size(size));
    else if (op & ATOMIC_FETCH) write_reg(s, i.src) = Reg::scalar(Scalar::unknown_of_size(size));
  }

  void ld(State& s, const Insn& i) {
    if (i.code != LDDW_OPCODE)
      fail(s, "BPF_LD_[ABS|IND] instructions are not supported",
           "read packet bytes through skb->data/data_end or bpf_skb_load_bytes");
    if (s.pc + 1 >= insns_.size()) fail(s, "invalid BPF_LD_IMM insn");
    const Insn& next = insns_[s.pc + 1];
    if (next.code != 0 || next.dst != 0 || next.src != 0 || next.off != 0)
      fail(s, "invalid bpf_ld_imm64 insn", "the second slot of an lddw holds only the upper 32 bits of the value");
    Reg out;
    switch (i.src) {
      case LDDW_IMM64:
        out = Reg::scalar(Scalar::constant(static_cast<uint32_t>(i.imm) | static_cast<uint64_t>(static_cast<uint32_t>(next.imm)) << 32));
        break;
      case PSEUDO_MAP_FD:
      case PSEUDO_MAP_IDX:
        if (i.imm < 0 || static_cast<size_t>(i.imm) >= obj_.maps.size()) fail(s, "fd " + std::to_string(i.imm) + " is not pointing to valid bpf_map");
        out.type = RegType::MapPtr;
        out.map = &obj_.maps[i.imm];
        out.map_index = i.imm;
        break;
      case PSEUDO_MAP_VALUE:
      case PSEUDO_MAP_IDX_VALUE:
        if (i.imm < 0 || static_cast<size_t>(i.imm) >= obj_.maps.size()) fail(s, "fd " + std::to_string(i.imm) + " is not pointing to valid bpf_map");
        out.type = RegType::MapValue;
        out.map = &obj_.maps[i.imm];
        out.map_index = i.imm;
        out.off = next.imm;
        if (next.imm < 0 || static_cast<uint32_t>(next.imm) >= out.map->value_size)
          fail(s, "invalid access to map value pointer, value_size=" + std::to_string(out.map->value_size) +
                      " off=" + std::to_string(next.imm));
        break;
      case PSEUDO_FUNC: {
        const int64_t target = static_cast<int64_t>(s.pc) + 1 + i.imm;
        if (target < 0 || static_cast<size_t>(target) >= insns_.size()) fail(s, "invalid func target");
        out.type = RegType::Func;
        out.size = static_cast<uint32_t>(target);
        break;
      }
      default: fail(s, "invalid BPF_LD_IMM insn (src_reg " + std::to_string(i.src) + ")");
    }
    write_reg(s, i.dst) = out;
    s.pc += 2;
  }

  // ---- jumps
  Step jump(Path& path, std::vector<Path>& pending, const Insn& i) {
    State& s = path.st;
    const bool is32 = insn_class(i.code) == JMP32;
    const uint8_t op = alu_op(i.code);
    if (op == JA) {
      s.pc = cfg_.succs[s.pc].back();
      return Step::Next;
    }
    if (op == CALL) {
      if (is32) fail(s, "unknown opcode " + std::to_string(i.code));
      return call(path, pending, i);
    }
    if (op == EXIT) {
      if (is32) fail(s, "unknown opcode " + std::to_string(i.code));
      return exit(path, pending);
    }
    const uint32_t fall = s.pc + 1;
    const uint32_t target = cfg_.succs[s.pc].back();
    const Reg a = read_reg(s, i.dst);
    const Reg b = source(i.code) == X ? read_reg(s, i.src)
                                      : Reg::scalar(is32 ? Scalar::constant(static_cast<uint32_t>(i.imm))
                                                         : Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(i.imm))));
    const CmpOp cmp = cmp_of(op);
    if (op != JEQ && op != JNE && op != JGT && op != JGE && op != JLT && op != JLE && op != JSGT && op != JSGE &&
        op != JSLT && op != JSLE && op != JSET)
      fail(s, "unknown opcode " + std::to_string(i.code));
    if (is32 && (a.is_pointer() || b.is_pointer()))
      fail(s, rname(a.is_pointer() ? i.dst : i.src) + " 32-bit pointer comparison prohibited", {},
           {a.is_pointer() ? static_cast<int>(i.dst) : static_cast<int>(i.src)});
    const bool scalars = a.type == RegType::Scalar && b.type == RegType::Scalar;
    if (const std::optional<bool> decided = scalars ? Scalar::branch_taken(cmp, a.v, b.v, is32) : std::nullopt) {
      // One edge only (a loop's counter against its bound): no copy of the state.
      refine_scalars(s, i, cmp, *decided, is32);
      s.pc = *decided ? target : fall;
      return Step::Next;
    }
    State taken = s, not_taken = std::move(s);
    taken.pc = target;
    not_taken.pc = fall;
    bool can_take = true, can_skip = true;
    if (scalars) {
      can_take = refine_scalars(taken, i, cmp, true, is32);
      can_skip = refine_scalars(not_taken, i, cmp, false, is32);
    } else {
      pointer_compare(not_taken, taken, i, a, b, op, can_take, can_skip);
    }
    if (can_take && can_skip) {
      fork(path, pending, std::move(taken));
      path.st = std::move(not_taken);
    } else if (can_take) {
      path.st = std::move(taken);
    } else {
      path.st = std::move(not_taken);
    }
    return Step::Next;
  }

  // Narrows both operands on this edge, and their linked copies. false: the edge is infeasible.
  bool refine_scalars(State& s, const Insn& i, CmpOp cmp, bool taken, bool is32) {
    Frame& f = s.cur();
    Reg& a = f.regs[i.dst];
    Reg bk = source(i.code) == X ? f.regs[i.src]
                                 : Reg::scalar(is32 ? Scalar::constant(static_cast<uint32_t>(i.imm))
                                                    : Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(i.imm))));
    Scalar av = a.v, bv = bk.v;
    if (!Scalar::refine(cmp, taken, av, bv, is32)) return false;
    set_linked(s, a.id, i.dst, av);
    if (source(i.code) == X) set_linked(s, f.regs[i.src].id, i.src, bv);
    return true;
  }

  void set_linked(State& s, uint32_t id, int r, const Scalar& v) {
    Frame& cur = s.cur();
    const bool from_half = cur.regs[r].sub32;
    cur.regs[r].v = v;
    if (id == 0) return;
    // The full value, when v is a low half: only its low 32 bits are known to lie in v's range.
    Scalar full = v;
    // (only linked copies are written: other frames and stacks stay shared)
    auto linked = [&](const Reg& reg) { return reg.type == RegType::Scalar && reg.id == id; };
    auto update = [&](Reg& reg) {
      if (reg.sub32 == from_half) {
        reg.v = v;
      } else if (from_half) {
        Scalar w = reg.v;
        w.u32min = std::max<uint32_t>(w.u32min, static_cast<uint32_t>(std::min<uint64_t>(v.umin, UINT32_MAX)));
        w.u32max = std::min<uint32_t>(w.u32max, static_cast<uint32_t>(std::min<uint64_t>(v.umax, UINT32_MAX)));
        if (v.umax <= INT32_MAX) {
          w.s32min = std::max<int32_t>(w.s32min, static_cast<int32_t>(v.umin));
          w.s32max = std::min<int32_t>(w.s32max, static_cast<int32_t>(v.umax));
        }
        if (w.sync()) reg.v = w;
      } else {
        reg.v = full.zext32();
      }
    };
    const size_t top = s.frames.size() - 1;
    for (size_t i = 0; i < s.frames.size(); ++i) {
      for (size_t k = 0; k < s.frames[i].regs.size(); ++k)
        if (linked(s.frames[i].regs[k]) && !(i == top && k == static_cast<size_t>(r))) update(s.frames.mut(i).regs[k]);
      for (size_t k = 0; k < s.frames[i].stack.size(); ++k)
        if (s.frames[i].stack[k].spill_size == 8 && linked(s.frames[i].stack[k].spill))
          update(s.frames.mut(i).stack.mut(k).spill);
    }
  }

  void pointer_compare(State& not_taken, State& taken, const Insn& i, const Reg& a, const Reg& b, uint8_t op,
                       bool& can_take, bool& can_skip) {
    // A pointer against NULL.
    const bool b_zero = b.type == RegType::Scalar && b.v.is_const() && b.v.const_value() == 0;
    const bool a_zero = a.type == RegType::Scalar && a.v.is_const() && a.v.const_value() == 0;
    if ((op == JEQ || op == JNE) && (b_zero || a_zero)) {
      const Reg& p = b_zero ? a : b;
      if (!p.is_pointer()) fail(not_taken, "internal: comparison of two numbers as pointers");
      if (p.type == RegType::Kernel && p.untrusted) return;  // read from a field: may be NULL, both edges
      if (!p.maybe_null) {
        // A valid pointer is never NULL.
        (op == JEQ ? can_take : can_skip) = false;
        return;
      }
      State& null_edge = op == JEQ ? taken : not_taken;
      State& ok_edge = op == JEQ ? not_taken : taken;
      mark_null(null_edge, p, true);
      mark_null(ok_edge, p, false);
      return;
    }
    if (a.type == RegType::PacketData && b.type == RegType::PacketEnd && a.ref == b.ref) {
      packet_range(not_taken, taken, a, op, false);
      return;
    }
    if (a.type == RegType::PacketEnd && b.type == RegType::PacketData && a.ref == b.ref) {
      packet_range(not_taken, taken, b, op, true);
      return;
    }
    // Any other comparison (identity of two packets, a pointer with a number) teaches nothing
    // and is harmless: both edges stay open.
    (void)i;
  }

  // pkt (the data pointer) compared with pkt_end: on the edge where pkt + 0 <= end holds, every
  // packet pointer of pkt's group may access up to pkt's offset (one more where pkt < end).
  void packet_range(State& not_taken, State& taken, const Reg& pkt, uint8_t op, bool swapped) {
    if (pkt.off < 0) return;
    const auto le = static_cast<uint32_t>(std::min<int64_t>(pkt.off, kMaxPacketOff));
    const uint32_t lt = le + 1;
    // (edge, range) for `pkt op end`; swapped means `end op pkt`.
    if (!swapped) {
      switch (op) {
        case JGT: set_range(not_taken, pkt, le); break;  // !(pkt > end): pkt <= end
        case JGE: set_range(not_taken, pkt, lt); break;  // !(pkt >= end): pkt < end
        case JLT: set_range(taken, pkt, lt); break;
        case JLE: set_range(taken, pkt, le); break;
        default: break;
      }
    } else {
      switch (op) {
        case JGT: set_range(taken, pkt, lt); break;      // end > pkt
        case JGE: set_range(taken, pkt, le); break;      // end >= pkt
        case JLT: set_range(not_taken, pkt, le); break;  // !(end < pkt): pkt <= end
        case JLE: set_range(not_taken, pkt, lt); break;  // !(end <= pkt): pkt < end
        default: break;
      }
    }
  }

  void set_range(State& s, const Reg& pkt, uint32_t range) {
    for_each_reg(s, [&](Reg& r) {
      if (r.type == RegType::PacketData && r.id == pkt.id && r.ref == pkt.ref) r.range = std::max(r.range, range);
    });
  }

  void mark_null(State& s, const Reg& p, bool is_null) {
    const uint32_t id = p.id;
    for_each_reg(s, [&](Reg& r) {
      if (!r.maybe_null || r.id != id || id == 0) return;
      if (is_null) {
        r = Reg::scalar(Scalar::constant(0));
      } else {
        r.maybe_null = false;
      }
    });
    // A NULL reference is no reference; a NULL handed out in ctx->skb hands nothing out.
    // (A slice's ref is its packet's, which a NULL slice leaves held.)
    if (is_null && p.ref && p.type != RegType::Mem)
      std::erase_if(s.refs, [&](const RefEntry& e) { return e.id == p.ref; });
    if (id != 0 && s.ctx_skb_id == id) {
      s.ctx_skb_set = !is_null;
      s.ctx_skb_id = 0;
    }
  }

  // ---- references
  uint32_t acquire(State& s, RefKind kind) {
    const uint32_t id = new_id();
    s.refs.push_back({id, s.pc, kind});
    return id;
  }

  void release(State& s, uint32_t ref) {
    std::erase_if(s.refs, [&](const RefEntry& e) { return e.id == ref; });
    // Dynptrs over the packet end with it.
    for (size_t i = 0; i < s.frames.size(); ++i)
      for (size_t k = 0; k < s.frames[i].stack.size(); ++k)
        if ((s.frames[i].stack[k].object == SlotObject::DynptrFirst ||
             s.frames[i].stack[k].object == SlotObject::DynptrSecond) &&
            s.frames[i].stack[k].object_ref == ref) {
          StackSlot& sl = s.frames.mut(i).stack.mut(k);
          sl.object = SlotObject::None;
          sl.object_ref = 0;
          sl.bytes.fill(SlotByte::Invalid);
          sl.dynptr_end = s.pc + 1;
        }
    // Copies become numbers, as Linux does for privileged programs: they may still be compared,
    // never dereferenced nor passed on.
    kill_pointers(s, [&](const Reg& r) { return r.ref == ref && r.is_pointer(); });
  }

  // Every register and spilled register of every frame. Each is changed in a copy, stored back
  // only if f changed it: frames and stacks shared with other states stay shared (see Frames).
  template <class F>
  static void for_each_reg(State& s, F f) {
    for (size_t i = 0; i < s.frames.size(); ++i) {
      for (size_t k = 0; k < s.frames[i].regs.size(); ++k) {
        Reg r = s.frames[i].regs[k];
        f(r);
        if (!(r == s.frames[i].regs[k])) s.frames.mut(i).regs[k] = r;
      }
      for (size_t k = 0; k < s.frames[i].stack.size(); ++k) {
        if (!s.frames[i].stack[k].spill_size) continue;
        Reg r = s.frames[i].stack[k].spill;
        f(r);
        if (!(r == s.frames[i].stack[k].spill)) s.frames.mut(i).stack.mut(k).spill = r;
      }
    }
  }

  // The pointers `dead` picks become numbers that remember where they died (for messages).
  template <class Pred>
  void kill_pointers(State& s, Pred dead) {
    for_each_reg(s, [&](Reg& r) {
      if (!dead(r)) return;
      r = Reg::scalar(Scalar::unknown());
      r.origin = s.pc;
    });
  }

  // An owning object pointer moved into a list or tree: the program keeps non-owning pointers,
  // valid until it releases the lock.
  void to_non_owning(State& s, uint32_t ref) {
    std::erase_if(s.refs, [&](const RefEntry& e) { return e.id == ref; });
    for_each_reg(s, [&](Reg& r) {
      if (r.type == RegType::Object && r.ref == ref) {
        r.ref = 0;
        r.non_owning = true;
      }
    });
  }

  // bpf_spin_unlock: non-owning pointers die (another run may free their objects).
  void drop_non_owning(State& s) {
    kill_pointers(s, [](const Reg& r) { return r.type == RegType::Object && r.non_owning; });
  }

  // ---- calls
  Step call(Path& path, std::vector<Path>& pending, const Insn& i) {
    State& s = path.st;
    auto no_call_under_lock = [&] {
      if (s.locked())
        fail(s, "function calls are not allowed while holding a lock",
             "call bpf_spin_unlock() first: only loads, stores and arithmetic may run under a lock");
    };
    if (i.src == CALL_LOCAL) {
      no_call_under_lock();
      return local_call(s, i);
    }
    const FuncProto* proto = nullptr;
    std::string name;
    // A struct_ops program's call of something the runtime links but the verifier has no
    // prototype for: the runtime checks it, so the program runs checked.
    auto unknown = [&](const std::string& msg, const char* hint) {
      if (uses_kernel_types()) fail_unsupported(s, msg, hint);
      fail(s, msg, hint);
    };
    if (i.src == CALL_HELPER) {
      proto = helper_proto(i.imm);
      if (!proto) unknown("unknown func #" + std::to_string(i.imm), "bpfq provides the helpers listed in docs/helpers.md");
    } else if (i.src == CALL_KFUNC) {
      if (i.imm < 0 || static_cast<size_t>(i.imm) >= prog_.kfunc_names.size()) fail(s, "invalid kernel function call");
      name = prog_.kfunc_names[i.imm];
      proto = kfunc_proto(name);
      if (!proto) unknown("calling kernel function " + name + " is not allowed", "bpfq's kfuncs are listed in docs/helpers.md");
    } else {
      fail(s, "unknown call kind (src_reg " + std::to_string(i.src) + ")");
    }
    const bool spin_lock = proto->name == std::string_view("bpf_spin_lock");
    // Under a lock: its unlock and the kfuncs of the lists and trees it guards (Linux's graph API).
    if (proto->name != std::string_view("bpf_spin_unlock") && !graph_api(*proto)) no_call_under_lock();
    const maps::MapSpec* map = nullptr;
    int32_t map_index = -1;
    uint32_t release_ref = 0;
    int callback_reg = -1, cb_ctx_reg = -1;
    // Graph objects, dynptrs and iterators: what the arguments said, for the result.
    const loader::SpecialField* root = nullptr;  // ListHead/RbRoot
    uint32_t obj_type = 0;                       // ObjTypeId, ObjAny: the object's struct
    uint32_t owned_node_ref = 0;                 // OwnedNode: moves into root
    uint32_t skb_ref = 0, dynptr_ref = 0;        // Skb: its reference; Dynptr: its packet's
    uint32_t const_size = 0;                     // ConstSize
    KptrTarget kptr;                             // KptrField
    for (int a = 0; a < 5 && proto->args[a] != ArgKind::None; ++a) {
      const int r = a + 1;
      const ArgKind kind = proto->args[a];
      if (kind == ArgKind::Vararg && s.cur().regs[r].type == RegType::NotInit) continue;  // not passed
      const Reg& reg = read_reg(s, r);
      const std::string fn = std::string(proto->name);
      auto expect = [&](bool ok, const std::string& what, const std::string& hint = {}) {
        if (!ok) fail(s, rname(r) + " type=" + describe(reg) + " expected=" + what + " (arg " + std::to_string(r) + " of " + fn + ")", hint, {r});
      };
      switch (kind) {
        case ArgKind::None: break;
        case ArgKind::Scalar: expect(reg.type == RegType::Scalar, "scalar"); break;
        case ArgKind::Vararg: break;  // what %s needs is checked with the format
        case ArgKind::Format: {
          const Reg& sz = read_reg(s, r + 1);
          if (sz.type != RegType::Scalar || sz.v.umin == 0 || sz.v.umax > (1u << 16))
            fail(s, rname(r + 1) + " type=" + describe(sz) + " expected=the format's size", {}, {r + 1});
          check_mem(s, r, reg, static_cast<uint32_t>(sz.v.umax), false, fn, "format");
          check_format(s, *proto);
          break;
        }
        case ArgKind::ConstMap: {
          expect(reg.type == RegType::MapPtr && !reg.maybe_null && reg.off == 0, "map_ptr",
                 reg.type == RegType::MapPtr ? "check the inner map for NULL first" : "pass a map: &name");
          map = reg.map;
          map_index = reg.map_index;
          if (!proto->map_types.empty() &&
              std::find(proto->map_types.begin(), proto->map_types.end(), map->type) == proto->map_types.end())
            fail(s, "cannot pass map_type " + std::to_string(map->type) + " into func " + fn,
                 "map '" + map->name + "' is not of a type " + fn + " works on", {r});
          if (map_index >= 0) (proto->skb_queue ? result_.skb_queue_maps : result_.plain_maps).push_back(map_index);
          break;
        }
        case ArgKind::MapKey: check_mem(s, r, reg, map ? map->key_size : 0, false, fn, "key"); break;
        case ArgKind::MapValue:
          if (map && maps::is_map_of_maps(map->type)) {
            inner_map_slot(s, r, reg, fn, false);  // the value is a map: a spilled map pointer
            break;
          }
          check_mem(s, r, reg, map ? map->value_size : 0, false, fn, "value");
          break;
        case ArgKind::MapValueOut:
          if (map && !map->kptr_offsets.empty())
            fail(s, fn + " would discard the packet references in map '" + map->name + "'",
                 "take packets out of a map value with bpf_kptr_xchg, then delete the entry", {1});
          if (map && maps::is_map_of_maps(map->type)) {
            StackSlot& sl = inner_map_slot(s, r, reg, fn, true);
            forget_spill(sl);
            sl.bytes.fill(SlotByte::Spill);
            sl.spill = Reg{};
            sl.spill.type = RegType::MapPtr;
            sl.spill.map = map->inner.get();
            sl.spill.maybe_null = true;
            sl.spill.id = new_id();
            sl.spill.origin = s.pc;
            sl.spill_size = 8;
            break;
          }
          check_mem(s, r, reg, map ? map->value_size : 0, true, fn, "value");
          break;
        case ArgKind::MemIn:
        case ArgKind::MemOut: {
          const Reg& sz = read_reg(s, r + 1);
          if (sz.type != RegType::Scalar) fail(s, rname(r + 1) + " type=" + describe(sz) + " expected=scalar", {}, {r + 1});
          const bool zero_ok = proto->args[a + 1] == ArgKind::SizeOrZero;
          if (sz.v.umax > (1u << 29) || sz.v.smin < 0)
            fail(s, rname(r + 1) + " unbounded memory access, use 'var &= const' or 'if (var < const)'",
                 "bound the size argument of " + fn, {r + 1});
          if (sz.v.umin == 0 && !zero_ok) fail(s, "invalid zero-sized read", "the size argument of " + fn + " must be at least 1", {r + 1});
          if (sz.v.umax == 0 && reg.type == RegType::Scalar && reg.v.is_const() && reg.v.const_value() == 0) break;
          check_mem(s, r, reg, static_cast<uint32_t>(sz.v.umax), kind == ArgKind::MemOut, fn, "buffer");
          break;
        }
        case ArgKind::Size:
        case ArgKind::SizeOrZero:
          if (reg.type != RegType::Scalar) expect(false, "scalar");
          break;
        case ArgKind::Skb:
          skb_ref = reg.ref;
          expect(is_packet(reg) && !reg.maybe_null && reg.off == 0 && reg.v.is_const() && reg.v.const_value() == 0,
                 "skb", reg.maybe_null ? rname(r) + " may be NULL here: check the result of " + origin_name(reg.origin) +
                                             " (" + at(reg.origin) + ") against NULL first"
                                       : "pass ctx->skb or a packet reference you hold");
          break;
        case ArgKind::SkbRelease:
          expect(is_packet(reg) && !reg.maybe_null && reg.ref != 0 && reg.off == 0 && reg.v.is_const() &&
                     reg.v.const_value() == 0,
                 "referenced skb",
                 reg.type == RegType::Skb && reg.ref == 0 ? "the packet in ctx->skb is borrowed: only references you took are released"
                 : reg.maybe_null ? rname(r) + " may be NULL here: check the result of " + origin_name(reg.origin) + " (" + at(reg.origin) + ") first"
                                  : "");
          release_ref = reg.ref;
          break;
        case ArgKind::SkbHandOut:
          if (!type_.ctx_skb_out)
            fail(s, fn + " is allowed only in qdisc/dequeue, not in " + std::string(type_.name),
                 "enqueue keeps or drops its packet; only dequeue hands one out", {r});
          expect(is_packet(reg) && !reg.maybe_null && reg.ref != 0 && at_start(reg), "referenced skb",
                 reg.maybe_null ? rname(r) + " may be NULL here: check the result of " + origin_name(reg.origin) +
                                      " (" + at(reg.origin) + ") first"
                                : "hand out a packet reference you hold (taken out of your queue with bpf_kptr_xchg)");
          release_ref = reg.ref;
          break;
        case ArgKind::KptrField:
          kptr = kptr_at(s, reg);
          expect(kptr.ok, "pointer to a __kptr_ref field of a map value, or a kptr field of an object",
                 "pass the address of a `__kptr` field of a map value you looked up (and checked for NULL), or of "
                 "an object you own");
          break;
        case ArgKind::SkbOrNullRelease: {
          if (reg.type == RegType::Scalar && reg.v.is_const() && reg.v.const_value() == 0) break;
          if (!kptr.packet) {
            const loader::LocalType* t = obj_.local_type(kptr.type);
            expect(reg.type == RegType::Object && !reg.maybe_null && reg.ref != 0 && at_start(reg) &&
                       reg.btf_id == kptr.type,
                   "owning pointer to struct " + (t ? t->name : std::string("?")) + " or NULL",
                   reg.type == RegType::Object && reg.non_owning ? "this object is in a list or tree: take it out first"
                                                                 : "store an object you own (from bpf_obj_new), at its start");
            release_ref = reg.ref;
            break;
          }
          expect(is_packet(reg) && reg.ref != 0 && reg.off == 0 && reg.v.is_const() && reg.v.const_value() == 0,
                 "referenced skb or NULL",
                 reg.type == RegType::Skb ? "the packet in ctx->skb is borrowed: take a reference with bpf_skb_acquire and store that"
                                          : "only packet references may be stored in a __kptr_ref field");
          release_ref = reg.ref;
          break;
        }
        case ArgKind::Callback:
          expect(reg.type == RegType::Func, "func", "pass a static function: bpf_loop(n, callback, ctx, 0)");
          if (!is_subprogram_start(reg.size)) fail(s, "callback function not static", {}, {r});
          callback_reg = r;
          break;
        case ArgKind::CallbackCtx:
          expect((reg.type == RegType::Scalar && reg.v.is_const() && reg.v.const_value() == 0) ||
                     ((reg.type == RegType::Stack || reg.type == RegType::MapValue) && !reg.maybe_null),
                 "pointer to stack or map value, or NULL");
          cb_ctx_reg = r;
          break;
        case ArgKind::RingbufMem:
          expect(reg.type == RegType::RingbufMem && !reg.maybe_null && reg.ref != 0 && reg.off == 0 &&
                     reg.v.is_const() && reg.v.const_value() == 0,
                 "ringbuf_mem", "pass the pointer bpf_ringbuf_reserve returned, checked for NULL");
          release_ref = reg.ref;
          break;
        case ArgKind::SpinLock:
          expect((reg.type == RegType::MapValue || reg.type == RegType::Object) && !reg.maybe_null, "map_value or object",
                 "pass the address of a struct bpf_spin_lock in a map value, a private(X) global or an object you hold");
          spin_lock_arg(s, r, reg, spin_lock);
          break;
        case ArgKind::KernelQdisc:
          expect(is_kernel(reg, qdisc_btf_), "trusted struct Qdisc *", "pass the op's sch argument");
          break;
        case ArgKind::KernelToFree:
          expect(is_kernel(reg, to_free_btf_), "trusted struct bpf_sk_buff_ptr *", "pass enqueue's to_free argument");
          break;
        case ArgKind::ObjTypeId: {
          const loader::LocalType* t =
              reg.type == RegType::Scalar && reg.v.is_const() ? obj_.local_type(static_cast<uint32_t>(reg.v.const_value())) : nullptr;
          expect(t != nullptr, "a constant: the BTF id of one of the program's structs", "use bpf_obj_new(struct T)");
          obj_type = t->id;
          break;
        }
        case ArgKind::NullMeta:
          expect(reg.type == RegType::Scalar && reg.v.is_const() && reg.v.const_value() == 0, "NULL (the meta argument)",
                 "call it through its bpf_experimental.h macro (bpf_obj_new, bpf_obj_drop, bpf_list_push_back, …)");
          break;
        case ArgKind::ObjRelease:
          expect(reg.type == RegType::Object && !reg.maybe_null && reg.ref != 0 && at_start(reg), "owning object pointer",
                 object_hint(reg));
          release_ref = reg.ref;
          break;
        case ArgKind::ObjAny: {
          expect(reg.type == RegType::Object && !reg.maybe_null && at_start(reg), "object pointer", object_hint(reg));
          obj_type = reg.btf_id;
          const loader::LocalType* t = obj_.local_type(obj_type);
          if (!t || std::none_of(t->fields.begin(), t->fields.end(),
                                 [](const loader::SpecialField& f) { return f.kind == loader::SpecialKind::Refcount; }))
            fail(s, fn + ": struct " + (t ? t->name : std::string("?")) + " has no struct bpf_refcount",
                 "only objects with a struct bpf_refcount field can have more than one owner", {r});
          break;
        }
        case ArgKind::ListHead:
        case ArgKind::RbRoot:
          root = &graph_root(s, r, reg,
                             kind == ArgKind::ListHead ? loader::SpecialKind::ListHead : loader::SpecialKind::RbRoot, fn);
          break;
        case ArgKind::OwnedNode:
          expect(reg.type == RegType::Object && !reg.maybe_null && reg.ref != 0 && at_node(reg, *root),
                 "owning pointer to the node of struct " + local_name(root->contained_type) + " at offset " +
                     std::to_string(root->node_offset),
                 object_hint(reg));
          owned_node_ref = reg.ref;
          break;
        case ArgKind::NonOwningNode:
          expect(reg.type == RegType::Object && !reg.maybe_null && reg.non_owning && at_node(reg, *root),
                 "non-owning pointer to the node of struct " + local_name(root->contained_type) + " in the tree",
                 "pass a node bpf_rbtree_first returned, under the same lock");
          break;
        case ArgKind::NodeOffset:  // (Linux's verifier writes the node's offset in; bpfq finds it)
          expect(reg.type == RegType::Scalar && reg.v.is_const(), "a constant (the node's offset)",
                 "call it through its bpf_experimental.h macro");
          break;
        case ArgKind::DynptrUninit: dynptr_init(s, r, reg, skb_ref); break;
        case ArgKind::Dynptr: dynptr_ref = dynptr_arg(s, r, reg, fn); break;
        case ArgKind::OptBuffer: {
          if (reg.type == RegType::Scalar && reg.v.is_const() && reg.v.const_value() == 0) break;
          const Reg& sz = read_reg(s, r + 1);
          if (sz.type != RegType::Scalar || !sz.v.is_const()) expect(false, "NULL, or a buffer of the constant size in arg " + std::to_string(r + 1));
          check_mem(s, r, reg, static_cast<uint32_t>(sz.v.const_value()), true, fn, "buffer");
          break;
        }
        case ArgKind::ConstSize:
          expect(reg.type == RegType::Scalar && reg.v.is_const() && reg.v.const_value() > 0 &&
                     reg.v.const_value() <= 0xffff,
                 "a constant size (1..65535)", "the slice's size must be known when the program is loaded");
          const_size = static_cast<uint32_t>(reg.v.const_value());
          break;
        case ArgKind::IterUninit: iter_init(s, r, reg); break;
        case ArgKind::Iter: iter_slot(s, r, reg, fn).iter_step = new_id(); break;
        case ArgKind::IterRelease: {
          StackSlot& sl = iter_slot(s, r, reg, fn);
          release_ref = sl.object_ref;
          sl.object = SlotObject::None;
          sl.object_ref = 0;
          sl.bytes.fill(SlotByte::Invalid);
          break;
        }
      }
    }
    // The callback's frame, if the helper calls back: explored as if called, and as if not.
    // (Only then is the state before the call kept: a copy would make the next write copy the
    // frame it shares.)
    std::optional<State> before;
    if (callback_reg >= 0) before = s;
    if (release_ref) release(s, release_ref);
    if (owned_node_ref) to_non_owning(s, owned_node_ref);
    Reg ret = Reg::scalar(Scalar::unknown());
    if (proto->ret_range) ret.v = Scalar::srange(proto->ret_range->first, proto->ret_range->second);
    switch (proto->ret) {
      case RetKind::Scalar: break;
      case RetKind::MapValueOrNull:
        ret = Reg{};
        if (maps::is_map_of_maps(map->type)) {
          if (!map->inner) fail(s, "map '" + map->name + "' has no inner map template");
          ret.type = RegType::MapPtr;
          ret.map = map->inner.get();
        } else {
          ret.type = RegType::MapValue;
          ret.map = map;
          ret.map_index = map_index;
        }
        ret.maybe_null = true;
        ret.id = new_id();
        ret.origin = s.pc;
        break;
      case RetKind::SkbOrNull:
        if (kptr.ok && !kptr.packet) {  // bpf_kptr_xchg of an object field
          ret = object_ret(s, kptr.type, 0, true);
          break;
        }
        ret = Reg{};
        ret.type = RegType::Skb;
        if (uses_kernel_types()) {  // a struct sk_buff *
          ret.type = RegType::Kernel;
          ret.btf_id = skb_btf_;
        }
        ret.maybe_null = true;
        ret.id = new_id();
        ret.ref = acquire(s, RefKind::Packet);
        ret.origin = s.pc;
        break;
      case RetKind::ObjOrNull:
      case RetKind::RefObjOrNull: ret = object_ret(s, obj_type, 0, true); break;
      case RetKind::OwnedNodeOrNull: ret = object_ret(s, root->contained_type, root->node_offset, true); break;
      case RetKind::NonOwningNodeOrNull: ret = object_ret(s, root->contained_type, root->node_offset, false); break;
      case RetKind::SliceOrNull:
      case RetKind::IterNumOrNull:
        ret = Reg{};
        ret.type = RegType::Mem;
        ret.size = proto->ret == RetKind::SliceOrNull ? const_size : 4;
        ret.ref = proto->ret == RetKind::SliceOrNull ? dynptr_ref : 0;  // dies with the packet
        ret.maybe_null = true;
        ret.id = new_id();
        ret.origin = s.pc;
        break;
      case RetKind::RingbufMemOrNull: {
        const Reg& sz = s.cur().regs[2];
        if (!sz.v.is_const() || sz.v.const_value() == 0 || sz.v.const_value() > (1u << 20))
          fail(s, "R2 must be a known constant size for bpf_ringbuf_reserve", {}, {2});
        ret = Reg{};
        ret.type = RegType::RingbufMem;
        ret.maybe_null = true;
        ret.size = static_cast<uint32_t>(sz.v.const_value());
        ret.id = new_id();
        ret.ref = acquire(s, RefKind::Ringbuf);
        ret.origin = s.pc;
        break;
      }
    }
    // A helper that calls back returns here without having called: 0 or an error.
    if (proto->callback != CallbackKind::None) ret.v = Scalar::srange(-22, 0);
    for (int r = 1; r <= 5; ++r) s.cur().regs[r] = Reg{};
    s.cur().regs[0] = ret;
    if (callback_reg >= 0) {
      // Also explore the callback being called, from the state before the call returned.
      State cb = make_callback_frame(*before, *proto, callback_reg, cb_ctx_reg, map, map_index, root);
      fork(path, pending, std::move(cb));
    }
    s.pc++;
    return Step::Next;
  }

  // ---- struct_ops and graph object arguments
  static bool graph_api(const FuncProto& p) {
    for (ArgKind a : p.args)
      if (a == ArgKind::ListHead || a == ArgKind::RbRoot) return true;
    return p.name == std::string_view("bpf_refcount_acquire_impl");
  }

  // A packet: a seed program's struct __sk_buff *, or a struct_ops program's trusted sk_buff.
  bool is_packet(const Reg& r) const { return r.type == RegType::Skb || is_kernel(r, skb_btf_); }

  bool is_kernel(const Reg& r, uint32_t btf_id) const {
    return r.type == RegType::Kernel && btf_id != 0 && r.btf_id == btf_id && !r.untrusted && !r.maybe_null &&
           r.off == 0 && r.v.is_const() && r.v.const_value() == 0;
  }

  static int64_t const_off(const Reg& r) { return r.off + static_cast<int64_t>(r.v.is_const() ? r.v.const_value() : 0); }
  static bool at_start(const Reg& r) { return r.v.is_const() && const_off(r) == 0; }
  static bool at_node(const Reg& r, const loader::SpecialField& root) {
    return r.btf_id == root.contained_type && r.v.is_const() && const_off(r) == root.node_offset;
  }

  std::string local_name(uint32_t id) const {
    const loader::LocalType* t = obj_.local_type(id);
    return t ? t->name : "#" + std::to_string(id);
  }

  std::string object_hint(const Reg& r) const {
    if (r.type != RegType::Object) return "pass an object from bpf_obj_new (or taken out of a list or tree)";
    if (r.maybe_null) return "check the result of " + origin_name(r.origin) + " (" + at(r.origin) + ") against NULL first";
    if (r.non_owning)
      return "this object is in a list or tree (the program's pointer is non-owning): take it out first with "
             "bpf_list_pop_* or bpf_rbtree_remove";
    if (r.ref == 0) return "the program does not own this object";
    return "pass the object's start: container_of() the node";
  }

  // The kptr field a bpf_kptr_xchg argument points at, and what it holds.
  struct KptrTarget {
    bool ok = false;
    bool packet = true;  // a struct sk_buff; else one of the program's structs (type)
    uint32_t type = 0;
  };

  KptrTarget kptr_at(const State& s, const Reg& reg) {
    if (reg.maybe_null || !reg.v.is_const()) return {};
    const int64_t off = const_off(reg);
    auto of = [&](const loader::SpecialField& f) -> KptrTarget {
      if (f.kptr_type == 0 && f.kptr_target != "sk_buff")
        fail_unsupported(s, "bpf_kptr_xchg of a struct " + f.kptr_target + " kptr",
                         "bpfq's kptrs hold packets (struct sk_buff) and the program's own objects");
      return {true, f.kptr_type == 0, f.kptr_type};
    };
    auto in = [&](const std::vector<loader::SpecialField>& fields) -> KptrTarget {
      for (const loader::SpecialField& f : fields)
        if (f.kind == loader::SpecialKind::Kptr && f.offset == off) return of(f);
      return {};
    };
    if (reg.type == RegType::Object)
      if (const loader::LocalType* t = obj_.local_type(reg.btf_id)) return in(t->fields);
    if (reg.type != RegType::MapValue) return {};
    for (const loader::GlobalSpecialField& g : obj_.global_fields)
      if (static_cast<int32_t>(g.map_index) == reg.map_index && g.field.kind == loader::SpecialKind::Kptr &&
          g.field.offset == off)
        return of(g.field);
    if (const loader::LocalType* t = obj_.local_type(reg.map->value_btf_id))
      if (KptrTarget k = in(t->fields); k.ok) return k;
    for (uint32_t k : reg.map->kptr_offsets)  // a seed map's __kptr_ref packet field
      if (k == off) return {true, true, 0};
    return {};
  }

  // A global bpf_list_head/bpf_rb_root argument: the root, whose lock the program must hold.
  const loader::SpecialField& graph_root(const State& s, int r, const Reg& reg, loader::SpecialKind kind,
                                         const std::string& fn) {
    const char* what = special_name(kind);
    if (reg.type == RegType::Object && !reg.maybe_null && reg.v.is_const()) {
      const int64_t off = const_off(reg);
      const loader::LocalType* t = obj_.local_type(reg.btf_id);
      const loader::SpecialField* root = nullptr;
      if (t)
        for (const loader::SpecialField& f : t->fields)
          if (f.kind == kind && f.offset == off) root = &f;
      if (!root)
        fail(s, fn + ": no " + what + " at offset " + std::to_string(off) + " of struct " + local_name(reg.btf_id),
             std::string("pass the address of a ") + what + " field declared with __contains(struct, node)", {r});
      if (s.lock_btf != reg.btf_id || s.lock_id != reg.id)
        fail(s, fn + " needs the bpf_spin_lock of this struct " + local_name(reg.btf_id) + " held",
             "call bpf_spin_lock() on the lock of the same object (through the same pointer) first", {r});
      return *root;
    }
    if (reg.type != RegType::MapValue || reg.maybe_null || !reg.v.is_const())
      fail(s, rname(r) + " type=" + describe(reg) + " expected=pointer to a global " + what + " (arg " +
                  std::to_string(r) + " of " + fn + ")",
           "pass the address of a private(X) global declared with __contains(struct, node)", {r});
    const int64_t off = const_off(reg);
    const loader::GlobalSpecialField* root = nullptr;
    for (const loader::GlobalSpecialField& g : obj_.global_fields)
      if (static_cast<int32_t>(g.map_index) == reg.map_index && g.field.kind == kind && g.field.offset == off)
        root = &g;
    if (!root)
      fail(s, fn + ": no " + what + " at offset " + std::to_string(off) + " of '" + reg.map->name + "'",
           std::string("pass the address of a global ") + what + " declared with __contains(struct, node)", {r});
    if (s.lock_map != reg.map)
      fail(s, fn + " needs the bpf_spin_lock of '" + reg.map->name + "' held",
           "call bpf_spin_lock() on the lock declared in the same private(X) section first", {r});
    return root->field;
  }

  Reg object_ret(State& s, uint32_t type, uint32_t off, bool owning) {
    Reg r;
    r.type = RegType::Object;
    r.btf_id = type;
    r.off = off;
    r.maybe_null = true;
    r.id = new_id();
    r.origin = s.pc;
    if (owning) r.ref = acquire(s, RefKind::Object);
    r.non_owning = !owning;
    return r;
  }

  // The stack bytes a dynptr or iterator occupies: constant, aligned, in the frame.
  int64_t stack_object_at(const State& s, int r, const Reg& reg, int size, const std::string& fn, const char* what) {
    if (reg.type != RegType::Stack || !reg.v.is_const())
      fail(s, rname(r) + " type=" + describe(reg) + " expected=fp (a " + what + " on the stack, arg " +
                  std::to_string(r) + " of " + fn + ")",
           std::string("declare the ") + what + " as a local variable and pass its address", {r});
    const int64_t off = const_off(reg);
    check_stack_range(s, r, off, off + size, true, size);
    if ((off + kStackSize) % 8 != 0)
      fail(s, "misaligned " + std::string(what) + " at fp" + std::to_string(off), {}, {r});
    return off;
  }

  void dynptr_init(State& s, int r, const Reg& reg, uint32_t packet_ref) {
    const int64_t off = stack_object_at(s, r, reg, 16, "bpf_dynptr_from_skb", "struct bpf_dynptr");
    check_no_stack_object(s, r, reg.frame, off, off + 16, true);  // an iterator there fails; a dynptr ends
    Frame& f = frame_of(s, reg);
    slot(f, off);  // (grows the stack to both slots first: references stay valid)
    for (int64_t at : {off, off + 8}) {
      StackSlot& sl = slot(f, at);
      forget_spill(sl);
      sl.bytes.fill(SlotByte::Invalid);
      sl.object = at == off ? SlotObject::DynptrFirst : SlotObject::DynptrSecond;
      sl.object_ref = packet_ref;
      sl.dynptr_end = 0;
    }
  }

  // An initialised dynptr: returns its packet's reference.
  uint32_t dynptr_arg(State& s, int r, const Reg& reg, const std::string& fn) {
    const int64_t off = stack_object_at(s, r, reg, 16, fn, "struct bpf_dynptr");
    read_slot(s, reg.frame, off);
    const StackSlot& first = read_slot(s, reg.frame, off);
    const StackSlot& second = read_slot(s, reg.frame, off + 8);
    if (first.object == SlotObject::DynptrFirst && second.object == SlotObject::DynptrSecond) return first.object_ref;
    if (first.dynptr_end)
      fail(s, fn + ": the dynptr at fp" + std::to_string(off) + " was invalidated when its packet was released at " +
                  at(first.dynptr_end - 1),
           "a dynptr may not be used after its packet was dropped, freed or stored away: read what you need first",
           {r});
    fail(s, "Expected an initialized dynptr as arg #" + std::to_string(r) + " of " + fn,
         "make it with bpf_dynptr_from_skb(skb, 0, &dynptr) first", {r});
  }

  void iter_init(State& s, int r, const Reg& reg) {
    const int64_t off = stack_object_at(s, r, reg, 8, "bpf_iter_num_new", "struct bpf_iter_num");
    check_no_stack_object(s, r, reg.frame, off, off + 8, true);  // an iterator there: refused (leak)
    Frame& f = frame_of(s, reg);
    StackSlot& sl = slot(f, off);
    forget_spill(sl);
    sl.bytes.fill(SlotByte::Invalid);
    sl.object = SlotObject::Iter;
    sl.object_ref = acquire(s, RefKind::Iterator);
    sl.iter_step = new_id();
  }

  StackSlot& iter_slot(State& s, int r, const Reg& reg, const std::string& fn) {
    const int64_t off = stack_object_at(s, r, reg, 8, fn, "struct bpf_iter_num");
    StackSlot& sl = slot(frame_of(s, reg), off);
    if (sl.object != SlotObject::Iter)
      fail(s, "expected an initialized iter_num as arg #" + std::to_string(r) + " of " + fn,
           "create it with bpf_iter_num_new first (bpf_for does)", {r});
    return sl;
  }

  // Maps of maps hold maps: their values go in and out of the program as a map pointer spilled
  // in an 8-byte stack slot (the runtime checks the map fits the template).
  StackSlot& inner_map_slot(State& s, int r, const Reg& reg, const std::string& fn, bool write) {
    if (reg.type != RegType::Stack || !reg.v.is_const() || reg.maybe_null)
      fail(s, rname(r) + " type=" + describe(reg) + " expected=fp (the inner map of " + fn + ")",
           "pass the address of a `void *` variable holding (or receiving) the inner map", {r});
    const int64_t off = reg.off + static_cast<int64_t>(reg.v.const_value());
    check_stack_range(s, r, off, off + 8, write, 8);
    if ((off + kStackSize) % 8 != 0) fail(s, "misaligned stack access off=" + std::to_string(off) + " size=8", {}, {r});
    StackSlot& sl = slot(frame_of(s, reg), off);
    if (!write && !(sl.spill_size == 8 && sl.spill.type == RegType::MapPtr && !sl.spill.maybe_null))
      fail(s, fn + ": the value of a map of maps must be a map (fp" + std::to_string(off) + " holds no map pointer)",
           "store a map you looked up (and checked for NULL) in the variable you pass", {r});
    return sl;
  }

  // bpf_trace_printk's format: a string constant, whose %s arguments must be strings too (the
  // helper reads them byte by byte, without run-time checks in a verified program).
  void check_format(State& s, const FuncProto& proto) {
    const Reg& fmt = s.cur().regs[1];
    const maps::MapSpec* m = fmt.map;
    if (fmt.type != RegType::MapValue || fmt.maybe_null || !fmt.v.is_const() || !m->read_only ||
        m->initial_value.empty())
      fail(s, "R1 type=" + describe(fmt) + " expected=string constant (the format of " + std::string(proto.name) + ")",
           "pass a string literal: bpf_printk(\"...\", ...)", {1});
    const int64_t off = fmt.off + static_cast<int64_t>(fmt.v.const_value());
    std::string text;
    for (int64_t i = off; i >= 0 && static_cast<size_t>(i) < m->initial_value.size() && m->initial_value[i]; ++i)
      text += static_cast<char>(m->initial_value[i]);
    int arg = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '%') continue;
      if (i + 1 < text.size() && text[i + 1] == '%') {
        ++i;
        continue;
      }
      ++i;
      while (i < text.size() && std::strchr("0+- 123456789", text[i])) ++i;
      while (i < text.size() && (text[i] == 'l' || text[i] == 'h')) ++i;
      const int r = 3 + arg++;
      if (i >= text.size() || text[i] != 's') continue;
      if (proto.args[2] != ArgKind::Vararg)
        fail(s, std::string(proto.name) + ": %s is not supported", "print strings with bpf_printk of up to 3 arguments");
      if (r > 5) continue;  // beyond the arguments: the helper refuses the format at run time
      const Reg& str = s.cur().regs[r];
      if (str.type == RegType::Scalar && str.v.is_const() && str.v.const_value() == 0) continue;  // "(null)"
      bool ok = str.type == RegType::MapValue && !str.maybe_null && str.v.is_const() && str.map->read_only;
      if (ok) {
        const int64_t at = str.off + static_cast<int64_t>(str.v.const_value());
        const auto& bytes = str.map->initial_value;
        ok = at >= 0 && static_cast<size_t>(at) < bytes.size() &&
             std::find(bytes.begin() + at, bytes.end(), 0) != bytes.end();
      }
      if (!ok)
        fail(s, rname(r) + " type=" + describe(str) + " expected=string constant (for %s in the format of " +
                    std::string(proto.name) + ")",
             "%s prints a string literal; print numbers with %d/%u/%x", {r});
    }
  }

  bool is_subprogram_start(uint32_t target) const {
    for (const Subprogram& sp : cfg_.subprograms)
      if (sp.start == target) return true;
    return false;
  }

  State make_callback_frame(const State& before, const FuncProto& proto, int callback_reg, int ctx_reg,
                            const maps::MapSpec* map, int32_t map_index, const loader::SpecialField* root) {
    State s = before;
    if (s.frames.size() >= static_cast<size_t>(kMaxCallDepth))
      fail(s, "the call stack of " + std::to_string(s.frames.size() + 1) + " frames is too deep !");
    const Reg& fn = before.cur().regs[callback_reg];
    Frame f;
    f.callsite = s.pc;
    f.start = fn.size;
    f.callback = static_cast<uint8_t>(proto.callback);
    const Reg ctx = ctx_reg >= 0 ? before.cur().regs[ctx_reg] : Reg{};
    if (proto.callback == CallbackKind::RbLess) {
      // Two nodes of the tree, compared under its lock.
      for (int r : {1, 2}) {
        f.regs[r] = Reg{};
        f.regs[r].type = RegType::Object;
        f.regs[r].btf_id = root->contained_type;
        f.regs[r].off = root->node_offset;
        f.regs[r].non_owning = true;
      }
    } else if (proto.callback == CallbackKind::Loop) {
      f.regs[1] = Reg::scalar(Scalar::urange(0, UINT32_MAX));  // the index
      f.regs[2] = ctx;
    } else {
      // (map, key, value, ctx)
      f.regs[1] = before.cur().regs[1];
      Reg key;
      key.type = RegType::MapValue;  // read-only view of the key: modelled as map memory
      key.map = key_spec(map);
      Reg value;
      value.type = RegType::MapValue;
      value.map = map;
      value.map_index = map_index;
      f.regs[2] = key;
      f.regs[3] = value;
      f.regs[4] = ctx;
    }
    f.regs[10] = stack_ptr(static_cast<uint8_t>(s.frames.size()));
    for (int r = 1; r <= 5; ++r) f.cb_args.mut().push_back(f.regs[r]);
    f.invocation = new_id();
    s.frames.push_back(std::move(f));
    s.pc = s.cur().start;
    return s;
  }

  // A map's key seen as a read-only value of key_size bytes (for_each_map_elem callbacks).
  const maps::MapSpec* key_spec(const maps::MapSpec* map) {
    for (const auto& k : key_specs_)
      if (k.first == map) return k.second.get();
    auto spec = std::make_unique<maps::MapSpec>();
    spec->name = map->name + " key";
    spec->value_size = map->key_size;
    spec->read_only = true;
    key_specs_.emplace_back(map, std::move(spec));
    return key_specs_.back().second.get();
  }

  // Memory a helper reads (or writes) through register r: `size` bytes must be in the object.
  // bpf_spin_lock/unlock: the lock word of a map value, one lock held at a time, released by
  // the same pointer (map and lookup) that took it.
  // A lock is known by where it lives (a map, or an object's struct) and the id of the pointer
  // that took it: list and rbtree roots beside it need the same (Linux's active_lock).
  void spin_lock_arg(State& s, int r, const Reg& reg, bool lock) {
    const bool object = reg.type == RegType::Object;
    const std::optional<uint32_t> lock_off = lock_offset(reg);
    if (!lock_off) {
      if (object)
        fail(s, "struct " + local_name(reg.btf_id) + " has no bpf_spin_lock", "declare a struct bpf_spin_lock field in it", {r});
      fail(s, "map '" + reg.map->name + "' has no valid bpf_spin_lock",
           "declare a struct bpf_spin_lock field in the map's value type (a BTF-defined map)", {r});
    }
    if (!reg.v.is_const() || const_off(reg) != *lock_off)
      fail(s, "off " + std::to_string(reg.off + reg.v.smin) + " doesn't point to 'struct bpf_spin_lock' that is at " +
                  std::to_string(*lock_off),
           object ? "pass &obj->lock" : "pass &value->lock", {r});
    const maps::MapSpec* map = object ? nullptr : reg.map;
    const uint32_t btf = object ? reg.btf_id : 0;
    if (lock) {  // (a second bpf_spin_lock is a call under a lock: refused in call())
      s.lock_map = map;
      s.lock_btf = btf;
      s.lock_id = reg.id;
      return;
    }
    if (!s.locked()) fail(s, "bpf_spin_unlock without taking a lock", {}, {r});
    if (s.lock_map != map || s.lock_btf != btf || s.lock_id != reg.id)
      fail(s, "bpf_spin_unlock of different lock", "unlock through the pointer the lock was taken with", {r});
    s.lock_map = nullptr;
    s.lock_btf = 0;
    s.lock_id = 0;
    drop_non_owning(s);
  }

  // The lock of a map value (BTF), of a global data section (a private(X) global) or of an
  // object's struct.
  std::optional<uint32_t> lock_offset(const Reg& reg) const {
    if (reg.type == RegType::Object) {
      if (const loader::LocalType* t = obj_.local_type(reg.btf_id))
        for (const loader::SpecialField& f : t->fields)
          if (f.kind == loader::SpecialKind::SpinLock) return f.offset;
      return std::nullopt;
    }
    if (reg.map->spin_lock_offset) return reg.map->spin_lock_offset;
    for (const loader::GlobalSpecialField& g : obj_.global_fields)
      if (static_cast<int32_t>(g.map_index) == reg.map_index && g.field.kind == loader::SpecialKind::SpinLock)
        return g.field.offset;
    return std::nullopt;
  }

  void check_mem(State& s, int r, const Reg& reg, uint32_t size, bool write, const std::string& fn, const char* what) {
    if (reg.maybe_null) fail_not_pointer(s, r, "passing");
    const int sz = static_cast<int>(size);
    switch (reg.type) {
      case RegType::Stack: {
        const Access a = span_of(reg, 0, sz);
        if (!reg.v.is_const() && (reg.v.smin <= -kStackSize || reg.v.smax > 0))
          fail(s, "invalid variable-offset indirect access to stack " + rname(r), {}, {r});
        check_stack_range(s, r, a.lo, a.hi, write, sz);
        check_no_stack_object(s, r, reg.frame, a.lo, a.hi, write);
        for (int64_t b = a.lo; b < a.hi; ++b) {
          const size_t at = static_cast<size_t>((b + kStackSize) % 8);
          if (write) {
            StackSlot& sl = slot(frame_of(s, reg), b);
            if (reg.v.is_const()) {
              if (sl.spill_size) forget_spill(sl);
              sl.bytes[at] = SlotByte::Misc;
            } else if (sl.bytes[at] == SlotByte::Spill && sl.spill.is_pointer()) {
              fail(s, "helper may overwrite a spilled pointer", {}, {r});
            }
            continue;
          }
          const StackSlot& sl = read_slot(s, reg.frame, b);  // (a read leaves a shared stack shared)
          const SlotByte k = sl.bytes[at];
          if (k == SlotByte::Invalid && !reg.v.is_const()) {
            // Constant offsets may leave padding uninitialised (Linux allows it to privileged
            // programs: the helper reads stack bytes, never a pointer); a variable one must not
            // reach bytes never written.
            fail(s, "invalid indirect read from stack " + rname(r) + " off " + std::to_string(b) + "+0 size " +
                        std::to_string(size),
                 "initialise the " + std::string(what) + " passed to " + fn + " first (e.g. = {} or memset)", {r});
          } else if (k == SlotByte::Spill && sl.spill.is_pointer()) {
            fail(s, "R" + std::to_string(r) + " leaks addr: a spilled pointer is read by " + fn, {}, {r});
          }
        }
        // A helper writing through a variable offset: every byte it may reach is now known-written
        // only if the offset was constant; otherwise leave what was there.
        if (write && !reg.v.is_const())
          for (int64_t b = a.lo; b < a.hi; ++b) {
            StackSlot& sl = slot(frame_of(s, reg), b);
            SlotByte& k = sl.bytes[(b + kStackSize) % 8];
            if (k == SlotByte::Zero) k = SlotByte::Misc;
          }
        break;
      }
      case RegType::MapValue:
        check_bounds(s, r, reg, 0, sz, reg.map->value_size, "map value", "the " + std::string(what) + " passed to " + fn);
        if (write && reg.map->read_only) fail(s, "write into map forbidden", "map '" + reg.map->name + "' is read-only", {r});
        if (write) check_not_kptr(s, r, reg, 0, sz);
        check_not_lock(s, r, reg, 0, sz);
        break;
      case RegType::PacketData: check_packet(s, r, reg, 0, sz); break;
      case RegType::RingbufMem:
        check_bounds(s, r, reg, 0, sz, reg.size, "ringbuf memory", "the reservation's size");
        break;
      case RegType::Mem:
        if (write) fail(s, "cannot write into rdonly_mem " + rname(r) + " (the " + what + " of " + fn + ")", {}, {r});
        check_bounds(s, r, reg, 0, sz, reg.size, "read-only memory", "its size");
        break;
      default:
        fail(s, rname(r) + " type=" + describe(reg) + " expected=fp, pkt, map_value or mem (the " + what + " of " + fn + ")",
             {}, {r});
    }
  }

  Step local_call(State& s, const Insn& i) {
    const int64_t target = static_cast<int64_t>(s.pc) + 1 + i.imm;
    if (target < 0 || static_cast<size_t>(target) >= insns_.size() || !is_subprogram_start(static_cast<uint32_t>(target)))
      fail(s, "call to invalid destination");
    if (s.frames.size() >= static_cast<size_t>(kMaxCallDepth))
      fail(s, "the call stack of " + std::to_string(s.frames.size() + 1) + " frames is too deep !",
           "bpfq allows 8 nested calls: no recursion");
    Frame f;
    f.callsite = s.pc;
    f.start = static_cast<uint32_t>(target);
    for (int r = 1; r <= 5; ++r) f.regs[r] = s.cur().regs[r];
    f.regs[10] = stack_ptr(static_cast<uint8_t>(s.frames.size()));
    s.frames.push_back(std::move(f));
    s.pc = static_cast<uint32_t>(target);
    return Step::Next;
  }

  Step exit(Path& path, std::vector<Path>& pending) {
    State& s = path.st;
    const Reg r0 = s.cur().regs[0];
    const bool less = s.frames.size() > 1 && s.cur().callback == static_cast<uint8_t>(CallbackKind::RbLess);
    if (s.locked() && !less)  // (bpf_rbtree_add's less runs under its caller's lock)
      fail(s, s.frames.size() == 1 ? "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region"
                                   : "bpf_spin_unlock is missing",
           "release the lock with bpf_spin_unlock() on every path before returning");
    // A sub-program may leave R0 unset (a void function): the caller gets it unset.
    if (r0.type == RegType::NotInit && ((s.frames.size() == 1 && !type_.ret_void) || s.cur().callback))
      fail_uninit(s, 0);
    if (less) {
      // The tree goes on with what less answered: nothing of its frame flows back.
      if (r0.type != RegType::Scalar)
        fail(s, "At callback return the register R0 is not a known value (" + describe(r0) + ")",
             "less returns true (a before b) or false", {0});
      return Step::Done;
    }
    if (s.frames.size() == 1 && type_.ctx == CtxKind::StructOpsArgs) {
      op_return(s, r0);
      return Step::Done;
    }
    if (s.frames.size() == 1) {
      check_return(s, r0);
      result_.r0_smin = std::min(result_.r0_smin, r0.v.smin);
      result_.r0_smax = std::max(result_.r0_smax, r0.v.smax);
      result_.r0_umin = std::min(result_.r0_umin, r0.v.umin);
      result_.r0_umax = std::max(result_.r0_umax, r0.v.umax);
      return Step::Done;
    }
    const Frame callee = s.frames.back();
    s.frames.pop_back();
    if (callee.callback) {
      if (r0.type != RegType::Scalar)
        fail(s, "At callback return the register R0 is not a known value (" + describe(r0) + ")", "return 0 or 1", {0});
      if (r0.v.umax > 1)
        fail(s, "At callback return the register R0 has " + r0.v.to_string() + " should have been in [0, 1]",
             "return 0 to go on, 1 to stop", {0});
      // Called again (when it may go on) from the caller's state now, with the same arguments.
      if (r0.v.umin == 0) {
        State again = s;
        Frame f;
        f.callsite = callee.callsite;
        f.start = callee.start;
        f.callback = callee.callback;
        f.cb_args = callee.cb_args;
        f.invocation = new_id();
        for (int r = 0; r < 5; ++r) f.regs[r + 1] = (*callee.cb_args)[r];
        f.regs[10] = stack_ptr(static_cast<uint8_t>(again.frames.size()));
        again.frames.push_back(std::move(f));
        again.pc = callee.start;
        fork(path, pending, std::move(again));
      }
      // Or the helper returns: the number of calls made (at least this one).
      Frame& caller = s.cur();
      for (int r = 1; r <= 5; ++r) caller.regs[r] = Reg{};
      caller.regs[0] = Reg::scalar(Scalar::urange(1, UINT32_MAX));
      s.pc = callee.callsite + 1;
      return Step::Next;
    }
    if (r0.type == RegType::Stack && r0.frame >= s.frames.size())
      fail(s, "cannot return stack pointer to the caller frame", {}, {0});
    Frame& caller = s.cur();
    for (int r = 1; r <= 5; ++r) caller.regs[r] = Reg{};
    caller.regs[0] = r0;
    s.pc = callee.callsite + 1;
    return Step::Next;
  }

  // A struct_ops op's exit: dequeue hands its packet out by returning it; nothing else may be
  // left held.
  void op_return(State& s, const Reg& r0) {
    if (type_.ret_skb) {
      const bool null = r0.type == RegType::Scalar && r0.v.is_const() && r0.v.const_value() == 0;
      const bool packet = r0.type == RegType::Kernel && r0.btf_id == skb_btf_ && !r0.untrusted && r0.ref != 0 &&
                          at_start(r0);
      if (!null && !packet)
        fail(s, "At program exit the register R0 is " + describe(r0) + ": " + std::string(type_.name) +
                    " returns a packet reference or NULL",
             "return a packet the program holds (taken out of its queue with bpf_kptr_xchg), or NULL", {0});
      if (packet) hand_out(s, r0.ref);
    } else if (!type_.ret_void && r0.type != RegType::Scalar) {
      fail(s, "At program exit the register R0 is not a known value (" + describe(r0) + ")",
           "return a number, not a pointer", {0});
    }
    check_no_refs(s);
  }

  void check_no_refs(const State& s) {
    if (s.refs.empty()) return;
    const RefEntry& e = s.refs.front();
    std::string hint;
    switch (e.kind) {
      case RefKind::Ringbuf: hint = "submit or discard the ring buffer reservation taken at " + at(e.insn); break;
      case RefKind::Object:
        hint = "the object taken at " + at(e.insn) + " is still owned: push it into a list or tree, store it with "
               "bpf_kptr_xchg, or free it with bpf_obj_drop";
        break;
      case RefKind::Iterator: hint = "destroy the iterator made at " + at(e.insn) + " with bpf_iter_num_destroy"; break;
      case RefKind::Packet:
        hint = "the packet reference " + std::string(e.insn == 0 && entry_skb_ref_ == e.id ? "enqueue received" : "taken at " + at(e.insn)) +
               (type_.ctx == CtxKind::StructOpsArgs
                    ? " is still held: drop it with bpf_qdisc_skb_drop or bpf_kfree_skb, store it with bpf_kptr_xchg, "
                      "or return it (dequeue)"
                : type_.ctx == CtxKind::BpfQdiscCtx
                    ? " is still held: release it with bpf_skb_release, store it with bpf_kptr_xchg, or hand it out "
                      "with bpf_qdisc_set_skb_dequeue (dequeue)"
                    : " is still held: release it with bpf_skb_release, store it in a map with bpf_kptr_xchg, queue "
                      "it, or hand it out in ctx->skb");
        break;
    }
    fail(s, "Unreleased reference id=" + std::to_string(e.id) + " alloc_insn=" + std::to_string(e.insn), hint);
  }

  void check_return(State& s, const Reg& r0) {
    check_no_refs(s);
    if (type_.ret_void) return;
    if (r0.type != RegType::Scalar)
      fail(s, "At program exit the register R0 is not a known value (" + describe(r0) + ")",
           "return a number, not a pointer", {0});
    if (type_.ret_range) {
      const auto [lo, hi] = *type_.ret_range;
      if (r0.v.smin < lo || r0.v.smax > hi)
        fail(s, "At program exit the register R0 has " + r0.v.to_string() + " should have been in [" +
                    std::to_string(lo) + ", " + std::to_string(hi) + "]",
             std::string(type_.ret_hint), {0});
    }
  }

  const loader::ProgramSpec& prog_;
  const loader::ObjectSpec& obj_;
  const ProgramType& type_;
  const VerifyOptions& opts_;
  VerifyResult& result_;
  const std::vector<Insn>& insns_;
  Cfg cfg_;
  std::vector<LiveMask> live_;
  maps::MapSpec ctx_memory_;  // CtxKind::Memory's buffer
  std::map<uint32_t, std::vector<uint8_t>> loop_body_;  // by loop head
  std::vector<uint8_t> join_point_;                      // two or more predecessors
  std::vector<uint32_t> postorder_;  // DFS post-order without back edges: higher comes first
  std::map<std::tuple<uint32_t, uint64_t, uint32_t>, Path> parked_;  // by pc, anchor, callback call
  std::vector<std::vector<std::unique_ptr<Checkpoint>>> explored_;
  std::vector<std::pair<const maps::MapSpec*, std::unique_ptr<maps::MapSpec>>> key_specs_;
  uint32_t next_id_ = 0;
  // struct_ops programs: the kernel types, the fields they may write, and the reference of the
  // packet enqueue receives.
  struct WritableField {
    uint32_t struct_id, off, size;
    std::string path;
  };
  std::unique_ptr<KernelBtf> kbtf_;
  uint32_t skb_btf_ = 0, qdisc_btf_ = 0, to_free_btf_ = 0;
  std::vector<WritableField> writable_;
  uint32_t entry_skb_ref_ = 0;
};

}  // namespace

Error VerifyResult::to_error(const std::string& object, const std::string& section) const {
  std::string where = object + " section " + section + " insn " + std::to_string(error.insn);
  if (!error.where.empty()) where += " (" + error.where + ")";
  std::string what = "verifier: " + error.message;
  if (!error.source.empty()) what += "\n    " + error.source;
  if (!error.state.empty()) what += "\n    " + error.state;
  return Error(what, where, error.hint);
}

VerifyResult verify(const loader::ProgramSpec& prog, const loader::ObjectSpec& object, const ProgramType& type,
                    const VerifyOptions& opts) {
  VerifyResult result;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    if (prog.insns.empty()) throw Failure{0, "program has no instructions", "an eBPF program ends with exit", {}};
    Verifier(prog, object, type, opts, result).run();
  } catch (const Failure& f) {
    result.ok = false;
    result.unsupported = f.unsupported;
    result.error.insn = f.insn;
    result.error.message = f.message;
    result.error.hint = f.hint;
    result.error.state = f.state;
    result.error.where = prog.source_location(f.insn);
    if (const loader::SourceLine* line = prog.line_at(f.insn)) {
      std::string text = line->text;
      while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.erase(text.begin());
      result.error.source = text;
    }
    if (opts.log) result.log += "error: " + f.message + "\n";
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto dedup = [](std::vector<uint32_t>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  dedup(result.skb_queue_maps);
  dedup(result.plain_maps);
  return result;
}

// A struct_ops program's type: the op of the first struct_ops member that holds it.
static const ProgramType* struct_ops_type(const loader::ObjectSpec& object, const loader::ProgramSpec& p) {
  for (const loader::StructOpsMap& so : object.struct_ops)
    for (const loader::StructOpsMember& m : so.members)
      if (m.is_function && m.program == p.name) return struct_ops_program_type(so.type_name, m.name);
  return nullptr;
}

ObjectVerification verify_object(const loader::ObjectSpec& object, const std::string& where, const VerifyOptions& opts,
                                 std::string_view only) {
  ObjectVerification out;
  std::vector<std::pair<uint32_t, std::string>> queue_users, plain_users;
  for (const loader::ProgramSpec& p : object.programs) {
    const ProgramType* type = program_type_for_section(p.section, p.ctx_struct);
    if (!type) type = struct_ops_type(object, p);
    out.verified.push_back(0);
    out.results.emplace_back();
    if (!type || (!only.empty() && p.section != only && p.name != only)) continue;
    std::optional<VerifyResult> r = cached_result(p, object, opts);
    if (!r) {
      r = verify(p, object, *type, opts);
      remember_result(p, object, opts, *r);
    }
    for (uint32_t m : r->skb_queue_maps) queue_users.emplace_back(m, p.section);
    for (uint32_t m : r->plain_maps) plain_users.emplace_back(m, p.section);
    out.verified.back() = r->ok ? 1 : 0;
    out.results.back() = std::move(*r);
  }
  for (const auto& [m, section] : plain_users)
    for (const auto& [qm, qsection] : queue_users)
      if (m == qm)
        out.object_problems.emplace_back(
            "verifier: map '" + object.maps[m].name + "' is a packet queue (bpf_skb_queue_* in " + qsection +
                ") and is also used as a plain map in " + section,
            where + " section " + section,
            "a BPFQ_SKB_QUEUE holds packet references: only bpf_skb_queue_push/pop/len may touch it");
  return out;
}

std::optional<Error> ObjectVerification::first_problem(const loader::ObjectSpec& object,
                                                       const std::string& where) const {
  for (size_t i = 0; i < results.size(); ++i)
    if (refused(i)) return results[i].to_error(where, object.programs[i].section);
  if (!object_problems.empty()) return object_problems.front();
  return std::nullopt;
}

}  // namespace bpfq::verifier
