// Comparing and describing verifier states.
#include "state.hpp"

#include <algorithm>
#include <utility>

namespace bpfq::verifier {

const char* type_name(RegType t) {
  switch (t) {
    case RegType::NotInit: return "uninitialised";
    case RegType::Scalar: return "scalar";
    case RegType::Ctx: return "ctx";
    case RegType::Stack: return "fp";
    case RegType::MapPtr: return "map_ptr";
    case RegType::MapValue: return "map_value";
    case RegType::PacketData: return "pkt";
    case RegType::PacketEnd: return "pkt_end";
    case RegType::Skb: return "skb";
    case RegType::Func: return "func";
    case RegType::RingbufMem: return "ringbuf_mem";
    case RegType::Kernel: return "ptr_to_btf_id";
    case RegType::Object: return "ptr_to_obj";
    case RegType::Mem: return "mem";
  }
  return "?";
}

namespace {

bool all_invalid(const StackSlot& sl) {
  for (SlotByte b : sl.bytes)
    if (b != SlotByte::Invalid) return false;
  return true;
}

// Ids of old and cur must correspond one to one (two of old's copies may not be two different
// things in cur, nor the other way round).
class IdMap {
 public:
  bool check(uint32_t old_id, uint32_t cur_id) {
    if (old_id == 0 && cur_id == 0) return true;
    if (old_id == 0 || cur_id == 0) return false;
    for (size_t k = 0; k < size_; ++k) {
      const Pair& p = k < kInline ? inline_[k] : more_[k - kInline];
      if (p.old_id == old_id) return p.cur_id == cur_id;
      if (p.cur_id == cur_id) return false;
    }
    if (size_ < kInline) inline_[size_] = {old_id, cur_id};
    else more_.push_back({old_id, cur_id});
    ++size_;
    return true;
  }

 private:
  // A comparison meets few ids: the first ones in place, neither allocated nor zeroed (it runs
  // for every state compared or joined; only the first size_ are read).
  struct Pair {
    uint32_t old_id, cur_id;
  };
  static constexpr size_t kInline = 16;
  Pair inline_[kInline];
  std::vector<Pair> more_;
  size_t size_ = 0;
};

bool reg_subsumes(const Reg& o, const Reg& c, IdMap& ids, IdMap& refs) {
  if (o.type == RegType::NotInit) return true;
  if (o.type != c.type) return false;
  if (o.type == RegType::Scalar) {
    if (!o.v.contains(c.v)) return false;
    // Old's exploration may have refined linked copies together; cur's copies must be linked too.
    return o.id == 0 || (o.sub32 == c.sub32 && ids.check(o.id, c.id));
  }
  if (o.maybe_null != c.maybe_null || o.off != c.off || o.map != c.map || o.frame != c.frame ||
      o.size != c.size || o.btf_id != c.btf_id || o.untrusted != c.untrusted || o.non_owning != c.non_owning ||
      !o.v.contains(c.v))
    return false;
  if (o.type == RegType::PacketData && c.range < o.range) return false;
  if (!ids.check(o.id, c.id)) return false;
  return refs.check(o.ref, c.ref);
}

bool slot_subsumes(const StackSlot& o, const StackSlot& c, IdMap& ids, IdMap& refs) {
  if (o.object != c.object) return o.object == SlotObject::None && all_invalid(o);
  if (o.object != SlotObject::None && !refs.check(o.object_ref, c.object_ref)) return false;
  for (int b = 0; b < 8; ++b) {
    const SlotByte ob = o.bytes[b], cb = c.bytes[b];
    switch (ob) {
      case SlotByte::Invalid: break;
      case SlotByte::Misc:
        if (cb == SlotByte::Invalid) return false;
        if (cb == SlotByte::Spill && c.spill.is_pointer()) return false;
        break;
      case SlotByte::Zero:
        if (cb != SlotByte::Zero) return false;
        break;
      case SlotByte::Spill:
        if (cb != SlotByte::Spill) return false;
        break;
    }
  }
  for (int b = 0; b < 8; ++b)
    if (o.bytes[b] == SlotByte::Spill) {
      if (o.spill_at != c.spill_at || o.spill_size != c.spill_size) return false;
      return reg_subsumes(o.spill, c.spill, ids, refs);
    }
  return true;
}

const StackSlot kEmptySlot{};
const Reg kNotInit{};

}  // namespace

bool subsumes(const State& old, const State& cur, const std::vector<LiveMask>& live) {
  if (old.frames.size() != cur.frames.size() || old.refs.size() != cur.refs.size() ||
      old.ctx_skb_set != cur.ctx_skb_set || (old.ctx_skb_id != 0) != (cur.ctx_skb_id != 0) ||
      old.lock_map != cur.lock_map || old.lock_btf != cur.lock_btf || (old.lock_id != 0) != (cur.lock_id != 0))
    return false;
  // The same calls first: a cheap test that fails often, before any register is compared.
  for (size_t f = 0; f < old.frames.size(); ++f) {
    const Frame& o = old.frames[f];
    const Frame& c = cur.frames[f];
    if (o.callsite != c.callsite || o.start != c.start || o.callback != c.callback) return false;
  }
  // Then every frame's registers, then every frame's stack: most comparisons fail on a
  // register (a loop's counter), before the long walk through the stacks. (The order does not
  // change the answer: every test must pass, and ids matched one to one are the same pairs
  // whatever the order they are met in.)
  IdMap ids, refs;
  for (size_t f = 0; f < old.frames.size(); ++f) {
    const Frame& o = old.frames[f];
    const Frame& c = cur.frames[f];
    for (int r = 0; r < 11; ++r)
      if ((live[f] >> r & 1) && !reg_subsumes(o.regs[r], c.regs[r], ids, refs)) return false;
    if (o.cb_args->size() != c.cb_args->size()) return false;
    for (size_t r = 0; r < o.cb_args->size(); ++r)
      if (!reg_subsumes((*o.cb_args)[r], (*c.cb_args)[r], ids, refs)) return false;
  }
  for (size_t f = 0; f < old.frames.size(); ++f) {
    const Frame& o = old.frames[f];
    const Frame& c = cur.frames[f];
    const size_t n = std::max(o.stack.size(), c.stack.size());
    for (size_t s = 0; s < n; ++s) {
      const StackSlot& os = s < o.stack.size() ? o.stack[s] : kEmptySlot;
      const StackSlot& cs = s < c.stack.size() ? c.stack[s] : kEmptySlot;
      // The same plain bytes (most slots, often of a stack both share) contain each other.
      if (os.object == SlotObject::None && cs.object == SlotObject::None && os.bytes == cs.bytes &&
          std::find(os.bytes.begin(), os.bytes.end(), SlotByte::Spill) == os.bytes.end())
        continue;
      if (!slot_subsumes(os, cs, ids, refs)) return false;
    }
  }
  // Every reference old holds, cur holds as the same one.
  for (const RefEntry& o : old.refs) {
    bool found = false;
    for (const RefEntry& c : cur.refs)
      if (o.kind == c.kind && refs.check(o.id, c.id)) {
        found = true;
        break;
      }
    if (!found) return false;
  }
  return old.lock_id == 0 || ids.check(old.lock_id, cur.lock_id);
}

namespace {

bool widen_reg(const Reg& o, Reg& c) {
  if (o.type != c.type) return o.type == RegType::NotInit || c.type == RegType::NotInit;
  if (c.type == RegType::Scalar) {
    if (!(o.v == c.v)) c.v = Scalar::unknown();
    c.id = 0;
    return true;
  }
  if (o.off != c.off || !(o.v == c.v) || o.btf_id != c.btf_id) return false;
  return true;
}

// The widening of one slot of cur against old's; false if they differ in kind.
bool widen_slot(const StackSlot& os, StackSlot& cs) {
  if (os.object != cs.object) return false;
  const bool o_spill = os.spill_size != 0, c_spill = cs.spill_size != 0;
  if (o_spill && c_spill && os.spill.type == RegType::Scalar && cs.spill.type == RegType::Scalar) {
    if (!(os.spill.v == cs.spill.v)) {
      // An unknown number of the same bytes: keep the spill, forget its value.
      cs.spill.v = Scalar::unknown_of_size(cs.spill_size);
      cs.spill.id = 0;
    }
  } else if (o_spill != c_spill || (o_spill && !widen_reg(os.spill, cs.spill))) {
    return false;
  } else if (!o_spill && os.bytes != cs.bytes) {
    for (auto& b : cs.bytes)
      if (b == SlotByte::Zero) b = SlotByte::Misc;
  }
  return true;
}

}  // namespace

bool widen_into(const State& old, State& cur) {
  if (old.frames.size() != cur.frames.size()) return false;
  for (size_t f = 0; f < old.frames.size(); ++f) {
    const Frame& o = old.frames[f];
    Frame& c = cur.frames.mut(f);  // (rare: callbacks and iterators only)
    for (int r = 0; r < 11; ++r)
      if (!widen_reg(o.regs[r], c.regs[r])) return false;
    const size_t n = std::min(o.stack.size(), c.stack.size());
    for (size_t s = 0; s < n; ++s) {
      // Widened in a copy, stored only if it changed: cur's stack may be shared.
      StackSlot cs = c.stack[s];
      const bool ok = widen_slot(o.stack[s], cs);
      if (!(cs == c.stack[s])) c.stack.mut(s) = cs;
      if (!ok) return false;
    }
  }
  return true;
}

std::string describe(const Reg& r) {
  auto offs = [&] {
    std::string s;
    if (r.off != 0 || r.v.is_const()) s += "off=" + std::to_string(r.off + static_cast<int64_t>(r.v.is_const() ? r.v.const_value() : 0));
    if (!r.v.is_const()) s += std::string(s.empty() ? "" : ",") + "var_off=(" + r.v.to_string() + ")";
    return s;
  };
  const std::string null = r.maybe_null ? "_or_null" : "";
  switch (r.type) {
    case RegType::NotInit: return "uninitialised";
    case RegType::Scalar: return "scalar(" + r.v.to_string() + ")";
    case RegType::Ctx: return "ctx(" + offs() + ")";
    case RegType::Stack: return "fp" + std::to_string(r.off) + (r.v.is_const() ? "" : "(var_off=" + r.v.to_string() + ")") +
                                (r.frame ? " of frame " + std::to_string(r.frame) : "");
    case RegType::MapPtr: return "map_ptr" + null + "(" + (r.map ? r.map->name : "?") + ")";
    case RegType::MapValue:
      return "map_value" + null + "(map=" + (r.map ? r.map->name : "?") + "," + offs() +
             ",value_size=" + std::to_string(r.map ? r.map->value_size : 0) + ")";
    case RegType::PacketData:
      return "pkt(id=" + std::to_string(r.id) + "," + offs() + ",r=" + std::to_string(r.range) + ")";
    case RegType::PacketEnd: return "pkt_end";
    case RegType::Skb: return "skb" + null + (r.ref ? "(ref=" + std::to_string(r.ref) + ")" : "(borrowed)");
    case RegType::Func: return "func(insn " + std::to_string(r.size) + ")";
    case RegType::RingbufMem: return "ringbuf_mem" + null + "(size=" + std::to_string(r.size) + ",ref=" + std::to_string(r.ref) + ")";
    case RegType::Kernel:
      return std::string(r.untrusted ? "untrusted_" : "trusted_") + "ptr_to_btf_id" + null + "(btf_id=" +
             std::to_string(r.btf_id) + (offs().empty() ? "" : "," + offs()) +
             (r.ref ? ",ref=" + std::to_string(r.ref) : "") + ")";
    case RegType::Object:
      return std::string(r.non_owning ? "non_own_" : "") + "ptr_to_obj" + null + "(btf_id=" + std::to_string(r.btf_id) +
             (offs().empty() ? "" : "," + offs()) + (r.ref ? ",ref=" + std::to_string(r.ref) : "") + ")";
    case RegType::Mem: return "rdonly_mem" + null + "(size=" + std::to_string(r.size) + ")";
  }
  return "?";
}

}  // namespace bpfq::verifier

namespace bpfq::verifier {

namespace {

// The join of two registers of the same shape (a's ids, b's mapped onto them one to one) into
// *out, which may be a itself or null (only checked); false if their kinds differ. Everything
// is read from a before *out is written.
bool join_reg(const Reg& a, const Reg& b, Reg* out, IdMap& ids, IdMap& refs) {
  // Unset on one path: unset after the join (a read there would fail on that path anyway).
  if (a.type == RegType::NotInit || b.type == RegType::NotInit) {
    const bool ok = !(a.is_pointer() && a.ref) && !(b.is_pointer() && b.ref);
    if (out) *out = Reg{};
    return ok;
  }
  if (a.type != b.type) return false;
  if (a.type == RegType::Scalar) {
    const bool linked = a.id != 0 && a.sub32 == b.sub32 && ids.check(a.id, b.id);
    if (out) {
      const Scalar v = a.v.join(b.v);
      const uint32_t id = linked ? a.id : 0;
      const bool sub32 = linked && a.sub32;
      if (out != &a) *out = a;
      out->v = v;
      out->id = id;
      out->sub32 = sub32;
    }
    return true;
  }
  if (a.maybe_null != b.maybe_null || a.map != b.map || a.frame != b.frame || a.size != b.size ||
      a.map_index != b.map_index || a.btf_id != b.btf_id || a.untrusted != b.untrusted ||
      a.non_owning != b.non_owning || !ids.check(a.id, b.id) || !refs.check(a.ref, b.ref))
    return false;
  // Different constant offsets stay apart: which field or string a pointer names matters.
  if (a.off != b.off) return false;
  if (out) {
    const Scalar v = a.v.join(b.v);
    const uint32_t range = std::min(a.range, b.range);
    if (out != &a) *out = a;
    out->v = v;
    out->range = range;
  }
  return true;
}

// Bytes only: no object, no spill (what join_slot leaves as it is when joined with itself).
bool plain(const StackSlot& x) {
  return x.object == SlotObject::None && x.spill_size == 0 && x.spill_at == 0 &&
         std::find(x.bytes.begin(), x.bytes.end(), SlotByte::Spill) == x.bytes.end() && x.spill == kNotInit;
}

bool all_zero(const StackSlot& x) {
  for (SlotByte k : x.bytes)
    if (k != SlotByte::Zero) return false;
  return true;
}

// The join of slot b into slot a, written into *out (a copy of a) or only checked (out ==
// nullptr); false if they do not join.
bool join_slot(const StackSlot& sa, const StackSlot& sb, StackSlot* out, IdMap& ids, IdMap& refs) {
  // Dynptrs and iterators: the same object on both paths, or no join.
  if (sa.object != sb.object) return false;
  if (sa.object != SlotObject::None) return refs.check(sa.object_ref, sb.object_ref);
  const bool pa = sa.spill_size && sa.spill.is_pointer(), pb = sb.spill_size && sb.spill.is_pointer();
  if (pa || pb) {
    if (!(pa && pb && sa.bytes == sb.bytes && sa.spill_at == sb.spill_at && sa.spill_size == sb.spill_size))
      return false;
    return join_reg(sa.spill, sb.spill, out ? &out->spill : nullptr, ids, refs);
  }
  // A spilled number on one side, zeros on the other: a spilled number that may be 0.
  const bool na = sa.spill_size == 8 && sa.spill.type == RegType::Scalar;
  const bool nb = sb.spill_size == 8 && sb.spill.type == RegType::Scalar;
  if ((na && all_zero(sb)) || (nb && all_zero(sa))) {
    if (out) {
      *out = na ? sa : sb;
      out->spill.v = out->spill.v.join(Scalar::constant(0));
      out->spill.id = 0;
    }
    return true;
  }
  // Bytes: uninitialised on either side stays uninitialised (a read fails on that path anyway);
  // zero on both stays zero; anything else is some number. The same bytes on both sides (most
  // slots) stay as they are, a spill too if it is the same spill.
  const bool same_spill = sa.spill_at == sb.spill_at && sa.spill_size == sb.spill_size;
  std::array<SlotByte, 8> bytes = sa.bytes;
  if (!(sa.bytes == sb.bytes && (same_spill || std::find(bytes.begin(), bytes.end(), SlotByte::Spill) == bytes.end())))
    for (int k = 0; k < 8; ++k) {
      const SlotByte x = sa.bytes[k], y = sb.bytes[k];
      bytes[k] = x == SlotByte::Invalid || y == SlotByte::Invalid ? SlotByte::Invalid
                 : x == SlotByte::Zero && y == SlotByte::Zero   ? SlotByte::Zero
                 : x == SlotByte::Spill && y == SlotByte::Spill && same_spill ? SlotByte::Spill
                                                                             : SlotByte::Misc;
    }
  if (out) out->bytes = bytes;
  if (sa.spill_size && sb.spill_size && same_spill && bytes[sa.spill_at] == SlotByte::Spill) {
    // (numbers or nothing on both sides: the join cannot fail, its id checks still count)
    join_reg(sa.spill, sb.spill, out ? &out->spill : nullptr, ids, refs);
    if (out) {
      out->spill_at = sa.spill_at;
      out->spill_size = sa.spill_size;
    }
  } else if (out) {
    out->spill = Reg{};
    out->spill_size = 0;
    out->spill_at = 0;
    for (auto& k : out->bytes)
      if (k == SlotByte::Spill) k = SlotByte::Misc;
  }
  return true;
}

// The join of a and b written into a itself (out == &a), or only checked (out == nullptr): most
// joins tried at a checkpoint fail, and checking first copies nothing. Both runs make the same
// id checks in the same order (ids matched early decide later matches), so a check that passes
// means the write passes too. Only what changes is written: frames and stacks shared with other
// states stay shared where the join leaves them as they were. Each register and slot of a is
// read before it is written, once.
bool join_pass(const State& a, const State& b, const std::vector<LiveMask>& live, State* out) {
  if (!same_calls(a, b) || a.refs.size() != b.refs.size() || a.ctx_skb_set != b.ctx_skb_set ||
      (a.ctx_skb_id != 0) != (b.ctx_skb_id != 0) || a.lock_map != b.lock_map || a.lock_btf != b.lock_btf ||
      (a.lock_id != 0) != (b.lock_id != 0))
    return false;
  IdMap ids, refs;
  for (size_t f = 0; f < a.frames.size(); ++f) {
    // (if out unshares this frame, fa stays the frame as it was: the other state holds it)
    const Frame& fa = a.frames[f];
    const Frame& fb = b.frames[f];
    Reg r_out;
    for (int r = 0; r < 11; ++r) {
      if (!(live[f] >> r & 1)) {
        if (out && !(fa.regs[r] == kNotInit)) out->frames.mut(f).regs[r] = kNotInit;
        continue;
      }
      if (!join_reg(fa.regs[r], fb.regs[r], out ? &r_out : nullptr, ids, refs)) return false;
      if (out && !(r_out == fa.regs[r])) out->frames.mut(f).regs[r] = r_out;
    }
    if (fa.cb_args->size() != fb.cb_args->size()) return false;
    for (size_t r = 0; r < fa.cb_args->size(); ++r) {
      if (!join_reg((*fa.cb_args)[r], (*fb.cb_args)[r], out ? &r_out : nullptr, ids, refs)) return false;
      if (out && !(r_out == (*fa.cb_args)[r])) out->frames.mut(f).cb_args.mut()[r] = r_out;
    }
    const size_t n = std::max(fa.stack.size(), fb.stack.size());
    // The slots added are empty, as a's missing ones read below.
    if (out && fa.stack.size() != n) out->frames.mut(f).stack.resize(n);
    for (size_t s = 0; s < n; ++s) {
      const StackSlot& sa = s < fa.stack.size() ? fa.stack[s] : kEmptySlot;
      const StackSlot& sb = s < fb.stack.size() ? fb.stack[s] : kEmptySlot;
      // A slot of plain bytes joined with the same bytes (most slots, often of a stack both
      // share) stays as it is, with no id to match.
      if (plain(sa) && sb.object == SlotObject::None && sb.spill_size == 0 && sa.bytes == sb.bytes) continue;
      if (!out) {
        if (!join_slot(sa, sb, nullptr, ids, refs)) return false;
        continue;
      }
      StackSlot t = sa;
      if (!join_slot(sa, sb, &t, ids, refs)) return false;
      if (!(t == sa)) out->frames.mut(f).stack.mut(s) = t;
    }
  }
  // The references held must correspond too (one a holds that b does not: no join).
  for (const RefEntry& ra : a.refs) {
    bool found = false;
    for (const RefEntry& rb : b.refs)
      if (ra.kind == rb.kind && refs.check(ra.id, rb.id)) {
        found = true;
        break;
      }
    if (!found) return false;
  }
  if (a.ctx_skb_id != 0 && !ids.check(a.ctx_skb_id, b.ctx_skb_id)) return false;
  if (a.lock_id != 0 && !ids.check(a.lock_id, b.lock_id)) return false;
  return true;
}

}  // namespace

bool same_calls(const State& a, const State& b) {
  if (a.frames.size() != b.frames.size()) return false;
  for (size_t f = 0; f < a.frames.size(); ++f) {
    const Frame& fa = a.frames[f];
    const Frame& fb = b.frames[f];
    // Different calls of a callback are different iterations of the helper's loop: kept apart.
    if (fa.callsite != fb.callsite || fa.start != fb.start || fa.callback != fb.callback ||
        fa.invocation != fb.invocation)
      return false;
  }
  return true;
}

bool joinable(const State& a, const State& b, const std::vector<LiveMask>& live) {
  return join_pass(a, b, live, nullptr);
}

bool join_into(State& a, const State& b, const std::vector<LiveMask>& live) {
  return join_pass(a, b, live, &a);
}

}  // namespace bpfq::verifier
