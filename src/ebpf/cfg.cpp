// build_cfg: sub-program boundaries, per-instruction successors, reachability and loop heads.
#include <bpfq/ebpf/cfg.hpp>

#include <algorithm>
#include <cstdio>
#include <utility>

namespace bpfq::ebpf {
namespace {

std::string format(const char* fmt, int64_t a, int64_t b = 0) {
  char buf[96];
  snprintf(buf, sizeof buf, fmt, static_cast<long long>(a), static_cast<long long>(b));
  return buf;
}

bool is_conditional(uint8_t code) {
  const uint8_t cls = insn_class(code);
  if (cls != JMP && cls != JMP32) return false;
  switch (alu_op(code)) {
    case JEQ: case JGT: case JGE: case JSET: case JNE: case JSGT: case JSGE:
    case JLT: case JLE: case JSLT: case JSLE: return true;
    default: return false;
  }
}

// The relative jump of an unconditional or conditional jump at insn, if it is one.
std::optional<int64_t> jump_offset(const Insn& insn) {
  if (insn.code == (JMP | JA | K)) return insn.off;
  if (insn.code == (JMP32 | JA | K)) return insn.imm;  // gotol: the offset does not fit 16 bits
  if (is_conditional(insn.code)) return insn.off;
  return std::nullopt;
}

class Builder {
 public:
  Builder(std::span<const Insn> insns, std::vector<CfgError>& errors, CfgDepth depth)
      : in_(insns), errors_(errors), depth_(depth) {}

  Cfg build() {
    const size_t n = in_.size();
    cfg_.size = n;
    cfg_.is_lddw_tail.assign(n, 0);
    cfg_.succs.assign(n, {});
    cfg_.jump_target.assign(n, 0);
    if (depth_ == CfgDepth::Full) {
      cfg_.reachable.assign(n, 0);
      cfg_.loop_head.assign(n, 0);
    }
    const size_t first_error = errors_.size();
    if (n == 0) {
      // Nothing to run: execution would leave the program at once.
      cfg_.subprograms.push_back(Subprogram{0, 0, false});
      add(0, "last insn is not an exit or jmp", CfgErrorKind::FallThrough);
      return std::move(cfg_);
    }
    find_subprograms(mark_lddw_tails());
    link_successors();
    if (depth_ == CfgDepth::Full) {
      find_loop_heads();
      find_reachable();
    }
    // Each pass reports in instruction order; merge them keeping per-insn pass order.
    std::stable_sort(errors_.begin() + static_cast<ptrdiff_t>(first_error), errors_.end(),
                     [](const CfgError& a, const CfgError& b) { return a.insn < b.insn; });
    return std::move(cfg_);
  }

 private:
  void add(size_t insn, std::string message, CfgErrorKind kind, std::optional<int64_t> target = {}) {
    errors_.push_back(CfgError{insn, std::move(message), kind, target});
  }

  bool is_lddw(size_t i) const { return in_[i].code == LDDW_OPCODE && i + 1 < in_.size(); }

  // Marks the second slots of lddw; returns the local calls and lddw PSEUDO_FUNCs met on the
  // way (few), whose targets find_subprograms checks once every tail is known.
  std::vector<uint32_t> mark_lddw_tails() {
    std::vector<uint32_t> refs;
    for (size_t i = 0; i < in_.size(); ++i) {
      const Insn& insn = in_[i];
      if (insn.code == (JMP | CALL | K) && insn.src == CALL_LOCAL) refs.push_back(static_cast<uint32_t>(i));
      if (insn.code != LDDW_OPCODE) continue;
      if (insn.src == PSEUDO_FUNC) refs.push_back(static_cast<uint32_t>(i));
      if (i + 1 >= in_.size()) {
        add(i, "invalid BPF_LD_IMM insn", CfgErrorKind::IncompleteLddw);
        break;
      }
      cfg_.is_lddw_tail[++i] = 1;
    }
    return refs;
  }

  // Checks a call or callback target; returns it when it can start a sub-program.
  std::optional<uint32_t> entry_target(size_t i, const char* out_of_range, CfgErrorKind kind) {
    const int64_t t = static_cast<int64_t>(i) + 1 + in_[i].imm;
    if (t < 0 || t >= static_cast<int64_t>(in_.size())) {
      add(i, out_of_range, kind, t);
      return std::nullopt;
    }
    if (cfg_.is_lddw_tail[t]) {
      add(i, format("jump into the middle of ldimm64 insn %lld", t - 1), CfgErrorKind::JumpIntoLddw, t);
      return std::nullopt;
    }
    return static_cast<uint32_t>(t);
  }

  void find_subprograms(const std::vector<uint32_t>& refs) {
    // (first insn, is a callback) of the entry and of every call's and callback's target
    std::vector<std::pair<size_t, bool>> starts{{0, false}};
    for (const uint32_t i : refs) {
      const Insn& insn = in_[i];
      if (insn.code == (JMP | CALL | K) && insn.src == CALL_LOCAL) {
        if (const auto t = entry_target(i, "call to invalid destination", CfgErrorKind::BadCallTarget)) {
          cfg_.calls.push_back(CallRef{static_cast<uint32_t>(i), *t});
          starts.emplace_back(*t, false);
        }
      } else if (insn.code == LDDW_OPCODE && insn.src == PSEUDO_FUNC) {
        if (const auto t = entry_target(i, "invalid func target", CfgErrorKind::BadFuncTarget)) {
          cfg_.func_refs.push_back(CallRef{static_cast<uint32_t>(i), *t});
          starts.emplace_back(*t, true);
        }
      }
    }
    std::sort(starts.begin(), starts.end());
    for (const auto& [start, is_callback] : starts) {
      if (!cfg_.subprograms.empty() && cfg_.subprograms.back().start == start) {
        cfg_.subprograms.back().is_callback |= is_callback;
        continue;
      }
      if (!cfg_.subprograms.empty()) cfg_.subprograms.back().end = start;
      cfg_.subprograms.push_back(Subprogram{start, in_.size(), is_callback});
    }
  }

  void link_successors() {
    for (const Subprogram& fn : cfg_.subprograms)
      for (size_t i = fn.start; i < fn.end; ++i) link(i, fn);
  }

  void link(size_t i, const Subprogram& fn) {
    const int64_t n = static_cast<int64_t>(in_.size());
    if (cfg_.is_lddw_tail[i]) return;
    const Insn& insn = in_[i];
    auto& succs = cfg_.succs[i];
    if (insn.code == LDDW_OPCODE && !is_lddw(i)) return;  // incomplete: reported already
    const std::optional<int64_t> off = jump_offset(insn);
    const bool falls = insn.code != (JMP | EXIT) && insn.code != (JMP | JA | K) &&
                       insn.code != (JMP32 | JA | K);
    std::optional<uint32_t> target;
    if (off) {
      const int64_t t = static_cast<int64_t>(i) + 1 + *off;
      if (t < 0 || t >= n)
        add(i, format("jump out of range from insn %lld to %lld", static_cast<int64_t>(i), t),
            CfgErrorKind::JumpOutOfProgram, t);
      else if (cfg_.is_lddw_tail[t])
        add(i, format("jump into the middle of ldimm64 insn %lld", t - 1), CfgErrorKind::JumpIntoLddw, t);
      else if (static_cast<size_t>(t) < fn.start || static_cast<size_t>(t) >= fn.end)
        add(i, format("jump out of range from insn %lld to %lld", static_cast<int64_t>(i), t),
            CfgErrorKind::JumpOutOfSubprogram, t);
      else
        target = static_cast<uint32_t>(t);
    }
    if (falls) {
      const size_t next = i + (is_lddw(i) ? 2 : 1);
      if (next >= fn.end) {
        // The kernel demands exit or ja last, so no sub-program runs into the next one.
        add(i, "last insn is not an exit or jmp", CfgErrorKind::FallThrough);
      } else {
        succs.push_back(static_cast<uint32_t>(next));
        if (off) cfg_.jump_target[next] = 1;  // the not-taken side of a branch
      }
    }
    if (target) {
      succs.push_back(*target);
      cfg_.jump_target[*target] = 1;
    }
  }

  // Back edges of a DFS from each function start: their targets head loops.
  void find_loop_heads() {
    std::vector<uint8_t> color(in_.size(), 0);  // 0 unseen, 1 on the DFS path, 2 done
    std::vector<std::pair<uint32_t, uint32_t>> stack;  // (insn, next successor to visit)
    for (const Subprogram& fn : cfg_.subprograms) {
      if (color[fn.start]) continue;
      color[fn.start] = 1;
      stack.emplace_back(static_cast<uint32_t>(fn.start), 0);
      while (!stack.empty()) {
        auto& [u, next] = stack.back();
        if (next == cfg_.succs[u].size()) {
          color[u] = 2;
          stack.pop_back();
          continue;
        }
        const uint32_t v = cfg_.succs[u][next++];
        if (color[v] == 1) cfg_.loop_head[v] = 1;
        else if (color[v] == 0) {
          color[v] = 1;
          stack.emplace_back(v, 0);  // invalidates u/next: the loop re-reads back()
        }
      }
    }
  }

  void find_reachable() {
    std::vector<uint8_t> fn_reached(cfg_.subprograms.size(), 0);
    std::vector<uint32_t> work;
    auto reach = [&](uint32_t insn) {
      if (cfg_.reachable[insn]) return;
      cfg_.reachable[insn] = 1;
      work.push_back(insn);
    };
    fn_reached[0] = 1;
    reach(0);
    while (!work.empty()) {
      const uint32_t u = work.back();
      work.pop_back();
      for (const uint32_t v : cfg_.succs[u]) reach(v);
      const Insn& insn = in_[u];
      std::optional<uint32_t> callee;
      if (insn.code == (JMP | CALL | K) && insn.src == CALL_LOCAL) callee = cfg_.call_target(u);
      else if (insn.code == LDDW_OPCODE && insn.src == PSEUDO_FUNC) callee = cfg_.func_ref(u);
      if (!callee) continue;
      fn_reached[&cfg_.subprogram_of(*callee) - cfg_.subprograms.data()] = 1;
      reach(*callee);
    }
    for (size_t k = 0; k < cfg_.subprograms.size(); ++k) {
      const Subprogram& fn = cfg_.subprograms[k];
      if (!fn_reached[k]) {
        // A whole dead function is one defect, not one per instruction.
        add(fn.start, format("unreachable insn %lld", static_cast<int64_t>(fn.start)),
            CfgErrorKind::Unreachable);
        continue;
      }
      for (size_t i = fn.start; i < fn.end; ++i)
        if (!cfg_.reachable[i] && !cfg_.is_lddw_tail[i])
          add(i, format("unreachable insn %lld", static_cast<int64_t>(i)), CfgErrorKind::Unreachable);
    }
  }

  std::span<const Insn> in_;
  std::vector<CfgError>& errors_;
  const CfgDepth depth_;
  Cfg cfg_;
};

}  // namespace

const Subprogram& Cfg::subprogram_of(size_t insn) const {
  auto it = std::upper_bound(subprograms.begin(), subprograms.end(), insn,
                             [](size_t i, const Subprogram& fn) { return i < fn.start; });
  return it == subprograms.begin() ? subprograms.front() : *std::prev(it);
}

namespace {
std::optional<uint32_t> find_ref(const std::vector<CallRef>& refs, size_t insn) {
  auto it = std::lower_bound(refs.begin(), refs.end(), insn,
                             [](const CallRef& r, size_t i) { return r.insn < i; });
  if (it == refs.end() || it->insn != insn) return std::nullopt;
  return it->target;
}
}  // namespace

std::optional<uint32_t> Cfg::call_target(size_t insn) const { return find_ref(calls, insn); }
std::optional<uint32_t> Cfg::func_ref(size_t insn) const { return find_ref(func_refs, insn); }

Cfg build_cfg(std::span<const Insn> insns, std::vector<CfgError>& errors, CfgDepth depth) {
  return Builder(insns, errors, depth).build();
}

}  // namespace bpfq::ebpf
