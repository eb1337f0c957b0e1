// CO-RE relocations, written from the UAPI's description of struct bpf_core_relo and libbpf's
// documented semantics: an access string of indexes into the object's own types is replayed, by
// member name, on every target type with the same essential name; the answer replaces the value
// the compiler put in the instruction (which is checked first, as a sanity test of the record).
#include "core_relocs.hpp"

#include <bpf/btf.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

#include <bpfq/error.hpp>

#include "btf_ext.hpp"
#include "location.hpp"

namespace bpfq::loader {

namespace {

using ebpf::Insn;

// enum bpf_core_relo_kind.
enum Kind : uint32_t {
  kFieldByteOffset = 0,
  kFieldByteSize = 1,
  kFieldExists = 2,
  kFieldSigned = 3,
  kFieldLshiftU64 = 4,
  kFieldRshiftU64 = 5,
  kTypeIdLocal = 6,
  kTypeIdTarget = 7,
  kTypeExists = 8,
  kTypeSize = 9,
  kEnumvalExists = 10,
  kEnumvalValue = 11,
  kTypeMatches = 12,
};

constexpr const char* kKindNames[] = {
    "FIELD_BYTE_OFFSET", "FIELD_BYTE_SIZE", "FIELD_EXISTS",  "FIELD_SIGNED", "FIELD_LSHIFT_U64",
    "FIELD_RSHIFT_U64",  "TYPE_ID_LOCAL",   "TYPE_ID_TARGET", "TYPE_EXISTS", "TYPE_SIZE",
    "ENUMVAL_EXISTS",    "ENUMVAL_VALUE",   "TYPE_MATCHES"};

bool is_field_kind(uint32_t k) { return k <= kFieldRshiftU64; }
bool is_enum_kind(uint32_t k) { return k == kEnumvalExists || k == kEnumvalValue; }
bool is_exists_kind(uint32_t k) {
  return k == kFieldExists || k == kTypeExists || k == kEnumvalExists || k == kTypeMatches;
}

// struct bpf_core_relo.
struct CoreRecord {
  uint32_t insn_off;  // bytes from the section start
  uint32_t type_id;   // local root type
  uint32_t access_str_off;
  uint32_t kind;
};

constexpr size_t kMaxAccessLength = 64;  // libbpf's limit on access string indexes
constexpr int kMaxNesting = 32;          // anonymous members, array element types


// One step of a field access after the root: a named member or an array index. Anonymous
// members are not steps; the named member is looked up through them in the target.
struct Step {
  bool is_index = false;
  uint32_t index = 0;
  std::string name;
  uint32_t local_type = 0;  // the member's or element's type in the object's BTF
};

// Where a field lies in one BTF, from the start of the root object.
struct FieldPlace {
  uint32_t type = 0;  // the field's type (modifiers included)
  uint64_t bit_offset = 0;
  uint32_t bit_size = 0;  // bitfield width; 0 for a whole field
};

// A relocation's answer in one BTF: the object's own (to check the compiled instruction) or
// the target's (the value patched in).
struct Answer {
  uint64_t value = 0;
  bool validate = true;     // the instruction must hold the local value (not for bitfield layouts)
  uint64_t bit_offset = 0;  // field kinds: the candidates must agree on it
  uint32_t size = 0;        // FIELD_BYTE_OFFSET: the field's bytes (a load/store's new width)
  uint32_t type = 0;        // FIELD_BYTE_OFFSET: the field's type
  // A 32-bit enumerator: the compiled 64-bit value may be its zero or sign extension (clang 14
  // records no enum signedness in BTF).
  bool either_extension = false;
};

bool add_bits(uint64_t& bits, uint64_t index, uint64_t bytes) {
  uint64_t product;
  return !__builtin_mul_overflow(index, bytes, &product) &&
         !__builtin_mul_overflow(product, uint64_t{8}, &product) &&
         !__builtin_add_overflow(bits, product, &bits);
}

uint32_t access_bytes(uint8_t code) {
  switch (code & 0x18) {
    case ebpf::B: return 1;
    case ebpf::H: return 2;
    case ebpf::W: return 4;
    default: return 8;
  }
}

uint8_t size_bits(uint32_t bytes) {
  return bytes == 1 ? ebpf::B : bytes == 2 ? ebpf::H : bytes == 4 ? ebpf::W : ebpf::DW;
}

class Relocator {
 public:
  Relocator(const BtfTypes& local, std::span<const uint8_t> target_btf, const std::string& file)
      : local_(local), target_bytes_(target_btf), file_(file) {}

  CoreAccess apply(CodeSection& sec, size_t idx, const CoreRecord& rec) {
    where_ = at_insn(file_, sec.name, idx);
    if (rec.kind > kTypeMatches)
      throw Error("unknown CO-RE relocation kind " + std::to_string(rec.kind), where_,
                  "the file is corrupted, or was built by a newer compiler");
    if (rec.type_id == 0 || rec.type_id >= local_.type_count())
      throw Error("CO-RE relocation names BTF type " + std::to_string(rec.type_id) +
                      ", which does not exist",
                  where_, "the file is corrupted");
    const std::vector<uint32_t> indexes = parse_access(local_.name(rec.access_str_off));

    CoreAccess out;
    out.insn = idx;
    out.kind = rec.kind;
    out.type = std::string(essential_name(local_.type_name(rec.type_id)));
    Answer mine;
    std::optional<Answer> theirs;
    if (is_field_kind(rec.kind)) {
      resolve_field(rec, indexes, out, mine, theirs);
    } else if (is_enum_kind(rec.kind)) {
      resolve_enum(rec, indexes, out, mine, theirs);
    } else {
      resolve_type(rec, indexes, out, mine, theirs);
    }
    if (!theirs && is_exists_kind(rec.kind)) theirs = Answer{};  // "does not exist": 0
    patch(sec.insns, idx, rec.kind, mine, theirs, out);
    return out;
  }

 private:
  std::vector<uint32_t> parse_access(std::string_view s) const {
    std::vector<uint32_t> out;
    const char* p = s.data();
    const char* end = s.data() + s.size();
    while (true) {
      uint32_t v = 0;
      const auto [next, ec] = std::from_chars(p, end, v);
      if (ec != std::errc() || out.size() == kMaxAccessLength)
        throw Error("bad CO-RE access string \"" + std::string(s) + "\"", where_,
                    "the file is corrupted");
      out.push_back(v);
      p = next;
      if (p == end) return out;
      if (*p != ':' || ++p == end)
        throw Error("bad CO-RE access string \"" + std::string(s) + "\"", where_,
                    "the file is corrupted");
    }
  }

  const BtfTypes& target() {
    if (!target_) {
      if (target_bytes_.empty())
        throw Error("the object has CO-RE relocations but no target BTF was given", where_,
                    "pass LoadOptions::target_btf: the kernel's BTF (/sys/kernel/btf/vmlinux) "
                    "or bpfq's own");
      target_ = std::make_unique<BtfTypes>(target_bytes_, file_ + " target BTF");
    }
    return *target_;
  }

  // Target types of the local root's kind class with the same essential name.
  std::vector<uint32_t> candidates(uint32_t local_id) {
    const BtfTypes& t = target();
    if (!indexed_) {  // once: vmlinux has ~100k types
      for (uint32_t id = 1; id < t.type_count(); ++id) {
        const std::string name = t.type_name(id);
        if (!name.empty()) by_name_[std::string(essential_name(name))].push_back(id);
      }
      indexed_ = true;
    }
    const btf_type* mine = local_.type(local_id);
    const std::string name(essential_name(local_.name(mine->name_off)));
    if (name.empty())
      throw Error("CO-RE relocation against an anonymous type", where_,
                  "relocations need a named struct, union, enum or typedef");
    std::vector<uint32_t> out;
    if (auto it = by_name_.find(name); it != by_name_.end())
      for (uint32_t id : it->second)
        if (btf_kind_core_compat(mine, t.type(id))) out.push_back(id);
    return out;
  }

  // ---- field kinds ----

  void resolve_field(const CoreRecord& rec, const std::vector<uint32_t>& indexes, CoreAccess& out,
                     Answer& mine, std::optional<Answer>& theirs) {
    // Replay the access on the object's own types: steps, readable path, local place.
    std::vector<Step> steps;
    out.access = out.type;
    FieldPlace place{rec.type_id, 0, 0};
    uint32_t t = local_.skip_modifiers(rec.type_id);
    if (!add_bits(place.bit_offset, indexes[0], local_.size_of(t, out.type)))
      throw Error("CO-RE access " + out.access + " overflows", where_, "the file is corrupted");
    if (indexes[0] != 0) out.access += "[" + std::to_string(indexes[0]) + "]";
    for (size_t i = 1; i < indexes.size(); ++i) {
      const btf_type* bt = local_.type(t);
      Step step;
      if (btf_is_composite(bt)) {
        if (indexes[i] >= btf_vlen(bt))
          throw Error("CO-RE access " + out.access + " names member " + std::to_string(indexes[i]) +
                          " of a type with " + std::to_string(btf_vlen(bt)),
                      where_, "the file is corrupted");
        const btf_member& m = btf_members(bt)[indexes[i]];
        place.bit_offset += btf_member_bit_offset(bt, indexes[i]);
        place.bit_size = btf_member_bitfield_size(bt, indexes[i]);
        place.type = m.type;
        step.name = local_.name(m.name_off);
        if (!step.name.empty()) out.access += "." + step.name;
      } else if (btf_is_array(bt)) {
        const struct btf_array* a = btf_array(bt);
        if (a->nelems != 0 && indexes[i] >= a->nelems)
          throw Error("CO-RE access " + out.access + " indexes element " +
                          std::to_string(indexes[i]) + " of an array of " + std::to_string(a->nelems),
                      where_, "the file is corrupted");
        if (!add_bits(place.bit_offset, indexes[i], local_.size_of(a->type, "an array element")))
          throw Error("CO-RE access " + out.access + " overflows", where_, "the file is corrupted");
        place.bit_size = 0;
        place.type = a->type;
        step.is_index = true;
        step.index = indexes[i];
        out.access += "[" + std::to_string(indexes[i]) + "]";
      } else {
        throw Error("CO-RE access " + out.access + " indexes into a type that is neither struct, "
                    "union nor array",
                    where_, "the file is corrupted");
      }
      step.local_type = place.type;
      if (step.is_index || !step.name.empty()) steps.push_back(std::move(step));
      t = local_.skip_modifiers(place.type);
    }
    mine = field_answer(local_, place, rec.kind);

    for (uint32_t cand : candidates(rec.type_id)) {
      const std::optional<FieldPlace> found = match_field(cand, indexes[0], steps);
      if (!found) continue;
      agree(theirs, field_answer(target(), *found, rec.kind), cand, out.access, true);
    }
  }

  // The local access replayed on target root `root`: members by name, array indexes in range,
  // compatible field types.
  std::optional<FieldPlace> match_field(uint32_t root, uint32_t root_index,
                                        const std::vector<Step>& steps) {
    const BtfTypes& tb = target();
    FieldPlace place{root, 0, 0};
    uint32_t t = tb.skip_modifiers(root);
    if (!add_bits(place.bit_offset, root_index, tb.size_of(t, "a CO-RE candidate")))
      return std::nullopt;
    for (const Step& step : steps) {
      const btf_type* bt = tb.type(t);
      if (step.is_index) {
        if (!btf_is_array(bt)) return std::nullopt;
        const struct btf_array* a = btf_array(bt);
        if (a->nelems != 0 && step.index >= a->nelems) return std::nullopt;
        if (!add_bits(place.bit_offset, step.index, tb.size_of(a->type, "an array element")))
          return std::nullopt;
        place.type = a->type;
        place.bit_size = 0;
      } else {
        if (!btf_is_composite(bt) || !find_member(t, step.name, place, 0)) return std::nullopt;
      }
      if (!fields_compatible(step.local_type, place.type, 0)) return std::nullopt;
      t = tb.skip_modifiers(place.type);
    }
    return place;
  }

  // Member `name` of composite t, looked for through anonymous struct/union members too;
  // adds its offset to place.
  bool find_member(uint32_t t, const std::string& name, FieldPlace& place, int depth) {
    const BtfTypes& tb = target();
    if (depth > kMaxNesting) return false;
    const btf_type* bt = tb.type(t);
    for (uint16_t i = 0; i < btf_vlen(bt); ++i) {
      const btf_member& m = btf_members(bt)[i];
      const std::string member = tb.name(m.name_off);
      if (member == name) {
        place.bit_offset += btf_member_bit_offset(bt, i);
        place.bit_size = btf_member_bitfield_size(bt, i);
        place.type = m.type;
        return true;
      }
      const uint32_t inner = tb.skip_modifiers(m.type);
      if (member.empty() && btf_is_composite(tb.type(inner))) {
        FieldPlace nested = place;
        nested.bit_offset += btf_member_bit_offset(bt, i);
        if (find_member(inner, name, nested, depth + 1)) {
          place = nested;
          return true;
        }
      }
    }
    return false;
  }

  // Field types that may stand for each other: any struct/union pair, ints of any size and
  // sign, pointers, enums of the same name or size, arrays of compatible elements.
  bool fields_compatible(uint32_t local_id, uint32_t target_id, int depth) {
    const BtfTypes& tb = target();
    const btf_type* l = local_.type(local_.skip_modifiers(local_id));
    const btf_type* t = tb.type(tb.skip_modifiers(target_id));
    const auto aggregate = [](const btf_type* x) { return btf_is_composite(x) || btf_is_fwd(x); };
    if (aggregate(l) && aggregate(t)) return true;
    if (!btf_kind_core_compat(l, t)) return false;
    switch (btf_kind(l)) {
      case BTF_KIND_INT:
      case BTF_KIND_PTR:
      case BTF_KIND_FLOAT:
        return true;
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
        return essential_name(local_.name(l->name_off)) == essential_name(tb.name(t->name_off)) ||
               l->size == t->size;
      case BTF_KIND_ARRAY:
        return depth < kMaxNesting &&
               fields_compatible(btf_array(l)->type, btf_array(t)->type, depth + 1);
      default:
        return false;
    }
  }

  // The field kinds' values for a field at `place` of btf.
  Answer field_answer(const BtfTypes& btf, const FieldPlace& place, uint32_t kind) const {
    Answer a;
    a.bit_offset = place.bit_offset;
    a.type = place.type;
    const bool bitfield = place.bit_size != 0;
    const uint64_t size = btf.size_of(place.type, "a CO-RE field");
    uint64_t byte_off = place.bit_offset / 8, byte_size = size, bit_size = size * 8;
    if (bitfield) {
      // The smallest naturally aligned load, starting from the declared type's size, that
      // covers the bits.
      if (size != 1 && size != 2 && size != 4 && size != 8)
        throw Error("bitfield of a " + std::to_string(size) + "-byte type", where_,
                    "the file is corrupted");
      bit_size = place.bit_size;
      for (byte_size = size;; byte_size *= 2) {
        byte_off = place.bit_offset / 8 / byte_size * byte_size;
        if (place.bit_offset + bit_size - byte_off * 8 <= byte_size * 8) break;
        if (byte_size == 8)
          throw Error("bitfield does not fit in an aligned 8-byte load", where_,
                      "the file is corrupted");
      }
    }
    a.size = static_cast<uint32_t>(std::min<uint64_t>(byte_size, UINT32_MAX));
    switch (kind) {
      case kFieldByteOffset:
        a.value = byte_off;
        a.validate = !bitfield;
        break;
      case kFieldByteSize:
        a.value = byte_size;
        a.validate = !bitfield;
        break;
      case kFieldExists:
        a.value = 1;
        break;
      case kFieldSigned: {
        const btf_type* t = btf.type(btf.skip_modifiers(place.type));
        a.value = btf_is_int(t) ? (btf_int_encoding(t) & BTF_INT_SIGNED) != 0
                  : btf_is_any_enum(t) ? btf_kflag(t) : 0;
        break;
      }
      case kFieldLshiftU64:  // moves the field's top bit to bit 63 (little-endian)
        a.value = 64 - (place.bit_offset + bit_size - byte_off * 8);
        a.validate = !bitfield;
        break;
      case kFieldRshiftU64:
        a.value = 64 - bit_size;
        break;
    }
    return a;
  }

  // ---- type kinds ----

  void resolve_type(const CoreRecord& rec, const std::vector<uint32_t>& indexes, CoreAccess& out,
                    Answer& mine, std::optional<Answer>& theirs) {
    if (indexes.size() != 1 || indexes[0] != 0)
      throw Error(std::string(kKindNames[rec.kind]) + " relocation with access string other "
                  "than \"0\"", where_, "the file is corrupted");
    out.access = out.type.empty() ? "(anonymous)" : out.type;
    const auto answer = [&](const BtfTypes& btf, uint32_t id) {
      Answer a;
      a.value = rec.kind == kTypeIdLocal || rec.kind == kTypeIdTarget ? id
                : rec.kind == kTypeSize ? btf.size_of(id, "a CO-RE type") : 1;
      return a;
    };
    mine = answer(local_, rec.type_id);
    if (rec.kind == kTypeIdLocal) {  // never looked up in the target
      theirs = mine;
      return;
    }
    for (uint32_t cand : candidates(rec.type_id))
      if (types_compatible(rec.type_id, cand, 0))
        agree(theirs, answer(target(), cand), cand, out.access, false);
  }

  // Same kinds all the way down through pointers, arrays and function prototypes; named
  // structs, unions, enums, ints and floats are compatible by kind alone (the names already
  // matched). TYPE_MATCHES is checked the same way.
  bool types_compatible(uint32_t local_id, uint32_t target_id, int depth) {
    const BtfTypes& tb = target();
    if (depth > kMaxNesting) return false;
    const btf_type* l = local_.type(local_.skip_modifiers(local_id));
    const btf_type* t = tb.type(tb.skip_modifiers(target_id));
    if (!btf_kind_core_compat(l, t)) return false;
    switch (btf_kind(l)) {
      case BTF_KIND_UNKN:
      case BTF_KIND_INT:
      case BTF_KIND_FLOAT:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_FWD:
        return true;
      case BTF_KIND_PTR:
        return types_compatible(l->type, t->type, depth + 1);
      case BTF_KIND_ARRAY:
        return types_compatible(btf_array(l)->type, btf_array(t)->type, depth + 1);
      case BTF_KIND_FUNC_PROTO: {
        if (btf_vlen(l) != btf_vlen(t) || !types_compatible(l->type, t->type, depth + 1))
          return false;
        for (uint16_t i = 0; i < btf_vlen(l); ++i)
          if (!types_compatible(btf_params(l)[i].type, btf_params(t)[i].type, depth + 1))
            return false;
        return true;
      }
      default:
        return false;
    }
  }

  // ---- enum kinds ----

  struct Enumerator {
    std::string name;
    uint64_t value = 0;
  };

  static std::vector<Enumerator> enumerators(const BtfTypes& btf, uint32_t id) {
    const btf_type* t = btf.type(btf.skip_modifiers(id));
    std::vector<Enumerator> out;
    if (btf_is_enum(t)) {  // sign-extended, whatever the signedness, as libbpf does
      for (uint16_t i = 0; i < btf_vlen(t); ++i)
        out.push_back({btf.name(btf_enum(t)[i].name_off),
                       static_cast<uint64_t>(int64_t{btf_enum(t)[i].val})});
    } else if (btf_is_enum64(t)) {
      for (uint16_t i = 0; i < btf_vlen(t); ++i)
        out.push_back({btf.name(btf_enum64(t)[i].name_off), btf_enum64_value(&btf_enum64(t)[i])});
    }
    return out;
  }

  void resolve_enum(const CoreRecord& rec, const std::vector<uint32_t>& indexes, CoreAccess& out,
                    Answer& mine, std::optional<Answer>& theirs) {
    if (!btf_is_any_enum(local_.type(local_.skip_modifiers(rec.type_id))))
      throw Error(std::string(kKindNames[rec.kind]) + " relocation against " + out.type +
                      ", which is not an enum",
                  where_, "the file is corrupted");
    const std::vector<Enumerator> local = enumerators(local_, rec.type_id);
    if (indexes.size() != 1 || indexes[0] >= local.size())
      throw Error(std::string(kKindNames[rec.kind]) + " relocation names enumerator " +
                      std::to_string(indexes[0]) + " of an enum with " + std::to_string(local.size()),
                  where_, "the file is corrupted");
    const Enumerator& wanted = local[indexes[0]];
    out.access = out.type + "." + wanted.name;
    mine.value = rec.kind == kEnumvalValue ? wanted.value : 1;
    mine.either_extension = btf_is_enum(local_.type(local_.skip_modifiers(rec.type_id)));
    for (uint32_t cand : candidates(rec.type_id))
      for (const Enumerator& e : enumerators(target(), cand))
        if (essential_name(e.name) == essential_name(wanted.name)) {
          Answer a;
          a.value = rec.kind == kEnumvalValue ? e.value : 1;
          agree(theirs, a, cand, out.access, false);
          break;
        }
  }

  // Every matching candidate must give the same answer.
  void agree(std::optional<Answer>& so_far, const Answer& next, uint32_t cand,
             const std::string& access, bool field) {
    if (!so_far) {
      so_far = next;
      first_candidate_ = cand;
      return;
    }
    if (so_far->value != next.value || (field && so_far->bit_offset != next.bit_offset))
      throw Error("CO-RE relocation " + access + " is ambiguous: target types " +
                      std::to_string(first_candidate_) + " (" + target().type_name(first_candidate_) +
                      ") and " + std::to_string(cand) + " (" + target().type_name(cand) +
                      ") give " + std::to_string(so_far->value) + " and " + std::to_string(next.value),
                  where_, "the target BTF has conflicting definitions of the type");
  }

  // ---- patching ----

  // Whether a load or store of a field of this type may change width: pointers and unsigned
  // integers (zero extension keeps their value).
  static bool resizable(const BtfTypes& btf, uint32_t id) {
    const btf_type* t = btf.type(btf.skip_modifiers(id));
    return btf_is_ptr(t) || (btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_SIGNED) == 0);
  }

  void mismatch(uint64_t compiled, uint64_t expected) const {
    throw Error("CO-RE relocated instruction holds " + std::to_string(compiled) +
                    ", but the object's BTF gives " + std::to_string(expected),
                where_, "the file is corrupted");
  }

  static void poison(std::vector<Insn>& insns, size_t idx) {
    insns[idx] = Insn::make(ebpf::JMP | ebpf::CALL, 0, 0, 0, kCorePoisonHelper);
  }

  void patch(std::vector<Insn>& insns, size_t idx, uint32_t kind, const Answer& mine,
             const std::optional<Answer>& theirs, CoreAccess& out) {
    Insn& insn = insns[idx];
    const uint8_t cls = ebpf::insn_class(insn.code);
    const uint8_t mode = insn.code & 0xe0;
    out.resolved = theirs.has_value();
    out.value = theirs ? theirs->value : 0;

    if ((cls == ebpf::ALU || cls == ebpf::ALU64) && ebpf::source(insn.code) == ebpf::K) {
      if (mine.validate && static_cast<uint32_t>(insn.imm) != static_cast<uint32_t>(mine.value))
        mismatch(static_cast<uint32_t>(insn.imm), mine.value);
      if (!theirs) return poison(insns, idx);
      const auto v = static_cast<int64_t>(theirs->value);
      if (theirs->value > UINT32_MAX && v != static_cast<int32_t>(v))
        throw Error("CO-RE value " + std::to_string(theirs->value) + " does not fit a 32-bit immediate",
                    where_, "");
      insn.imm = static_cast<int32_t>(theirs->value);
      return;
    }

    const bool load = cls == ebpf::LDX && (mode == ebpf::MEM || mode == ebpf::MEMSX);
    const bool store = (cls == ebpf::ST && mode == ebpf::MEM) ||
                       (cls == ebpf::STX && (mode == ebpf::MEM || mode == ebpf::ATOMIC));
    if (load || store) {
      if (kind != kFieldByteOffset)
        throw Error(std::string(kKindNames[kind]) + " relocation on a load or store", where_,
                    "the file is corrupted");
      out.is_store = store;
      out.access_size = access_bytes(insn.code);
      if (mine.validate && (insn.off < 0 || static_cast<uint64_t>(insn.off) != mine.value))
        mismatch(static_cast<uint64_t>(int64_t{insn.off}), mine.value);
      if (!theirs) return poison(insns, idx);
      if (theirs->value > INT16_MAX)
        throw Error("field " + out.access + " lies at offset " + std::to_string(theirs->value) +
                        ", beyond a load or store's reach",
                    where_, "");
      if (theirs->size != mine.size) {
        if (out.access_size != mine.size)
          throw Error("a " + std::to_string(out.access_size) + "-byte access of " + out.access +
                          " (" + std::to_string(mine.size) + " bytes), whose size changed",
                      where_, "");
        const bool fits_insn = theirs->size == 1 || theirs->size == 2 || theirs->size == 4 ||
                               theirs->size == 8;
        const bool atomic_ok = mode != ebpf::ATOMIC || theirs->size == 4 || theirs->size == 8;
        if (!fits_insn || !atomic_ok || !resizable(local_, mine.type) ||
            !resizable(target(), theirs->type)) {
          out.resolved = false;  // the target's field cannot be accessed like the local one
          out.value = 0;
          return poison(insns, idx);
        }
        insn.code = static_cast<uint8_t>((insn.code & ~0x18) | size_bits(theirs->size));
        out.access_size = theirs->size;
      }
      insn.off = static_cast<int16_t>(theirs->value);
      return;
    }

    if (insn.code == ebpf::LDDW_OPCODE && insn.src == ebpf::LDDW_IMM64 && idx + 1 < insns.size()) {
      Insn& high = insns[idx + 1];
      const uint64_t compiled =
          static_cast<uint32_t>(insn.imm) | uint64_t{static_cast<uint32_t>(high.imm)} << 32;
      const bool extended = mine.either_extension &&
                            static_cast<uint32_t>(compiled) == static_cast<uint32_t>(mine.value) &&
                            (compiled >> 32 == 0 || compiled >> 32 == UINT32_MAX);
      if (mine.validate && compiled != mine.value && !extended) mismatch(compiled, mine.value);
      if (!theirs) {  // both slots, so the instruction count is unchanged
        poison(insns, idx);
        poison(insns, idx + 1);
        return;
      }
      insn.imm = static_cast<int32_t>(static_cast<uint32_t>(theirs->value));
      high.imm = static_cast<int32_t>(static_cast<uint32_t>(theirs->value >> 32));
      return;
    }
    char opcode[8];
    std::snprintf(opcode, sizeof opcode, "0x%02x", insn.code);
    throw Error(std::string(kKindNames[kind]) + " relocation on an instruction (opcode " + opcode +
                    ") that cannot take one",
                where_, "the file is corrupted");
  }

  const BtfTypes& local_;
  std::span<const uint8_t> target_bytes_;
  const std::string& file_;
  std::unique_ptr<BtfTypes> target_;
  std::unordered_map<std::string, std::vector<uint32_t>> by_name_;  // target ids by essential name
  bool indexed_ = false;
  std::string where_;
  uint32_t first_candidate_ = 0;
};

// Slots that are the second half of a 64-bit immediate load: data, never an instruction.
std::vector<bool> second_halves(const std::vector<Insn>& insns) {
  std::vector<bool> out(insns.size(), false);
  for (size_t i = 0; i + 1 < insns.size(); ++i)
    if (insns[i].code == ebpf::LDDW_OPCODE) out[++i] = true;
  return out;
}

}  // namespace

CoreTable apply_core_relocations(std::span<const uint8_t> btf_ext, const BtfTypes& local,
                                 std::span<const uint8_t> target_btf,
                                 std::vector<CodeSection>& code, const std::string& file) {
  const std::string where = at_section(file, ".BTF.ext");
  CoreTable table;
  Relocator relocator(local, target_btf, file);
  for (const BtfExtRecords& records :
       read_btf_ext(btf_ext, local, BtfExtPart::CoreRelocations, sizeof(CoreRecord), where)) {
    auto sec = std::find_if(code.begin(), code.end(),
                            [&](const CodeSection& c) { return c.name == records.section; });
    if (sec == code.end())
      throw Error("CO-RE relocations name section " + records.section + ", which holds no code",
                  where, "the file is corrupted");
    const std::vector<bool> data_slots = second_halves(sec->insns);
    std::vector<CoreAccess>& applied = table[sec->name];
    std::set<size_t> seen;
    for (const CoreAccess& a : applied) seen.insert(a.insn);
    for (uint32_t i = 0; i < records.count; ++i) {
      const auto rec = records.record<CoreRecord>(i);
      const size_t idx = rec.insn_off / sizeof(Insn);
      if (rec.insn_off % sizeof(Insn) != 0 || idx >= sec->insns.size())
        throw Error("CO-RE relocation at byte offset " + std::to_string(rec.insn_off) +
                        " does not name an instruction of the section",
                    at_section(file, sec->name), "the file is corrupted");
      const std::string at = at_insn(file, sec->name, idx);
      if (data_slots[idx])
        throw Error("CO-RE relocation on the second half of a 64-bit immediate load", at,
                    "the file is corrupted");
      // An ELF relocation rewrites the instruction again at link time (and a poisoned one would
      // no longer be the lddw it expects).
      if (sec->relocations.count(idx) != 0)
        throw Error("instruction has both an ELF and a CO-RE relocation", at, "the file is corrupted");
      if (!seen.insert(idx).second)
        throw Error("two CO-RE relocations apply to one instruction", at, "the file is corrupted");
      applied.push_back(relocator.apply(*sec, idx, rec));
    }
    std::sort(applied.begin(), applied.end(),
              [](const CoreAccess& a, const CoreAccess& b) { return a.insn < b.insn; });
  }
  return table;
}

// The last "___" followed by a character other than '_' starts the flavor suffix.
std::string_view essential_name(std::string_view name) {
  if (name.size() >= 4)
    for (size_t i = name.size() - 3; i-- > 0;)
      if (name.compare(i, 3, "___") == 0 && name[i + 3] != '_') return name.substr(0, i);
  return name;
}

}  // namespace bpfq::loader
