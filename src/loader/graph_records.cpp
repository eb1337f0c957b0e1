#include "graph_records.hpp"

#include <bpf/btf.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include <bpfq/error.hpp>

#include "global_data.hpp"
#include "kptr_fields.hpp"

namespace bpfq::loader {

namespace {

constexpr std::string_view kContainsPrefix = "contains:";

const char* kind_name(SpecialKind k) {
  switch (k) {
    case SpecialKind::SpinLock: return "struct bpf_spin_lock";
    case SpecialKind::ListHead: return "struct bpf_list_head";
    case SpecialKind::ListNode: return "struct bpf_list_node";
    case SpecialKind::RbRoot: return "struct bpf_rb_root";
    case SpecialKind::RbNode: return "struct bpf_rb_node";
    case SpecialKind::Refcount: return "struct bpf_refcount";
    case SpecialKind::Kptr: return "kptr";
  }
  return "?";
}

std::optional<SpecialKind> special_struct(const std::string& name) {
  if (name == "bpf_spin_lock") return SpecialKind::SpinLock;
  if (name == "bpf_list_head") return SpecialKind::ListHead;
  if (name == "bpf_list_node") return SpecialKind::ListNode;
  if (name == "bpf_rb_root") return SpecialKind::RbRoot;
  if (name == "bpf_rb_node") return SpecialKind::RbNode;
  if (name == "bpf_refcount") return SpecialKind::Refcount;
  return std::nullopt;
}

bool is_root(SpecialKind k) { return k == SpecialKind::ListHead || k == SpecialKind::RbRoot; }
bool is_node(SpecialKind k) { return k == SpecialKind::ListNode || k == SpecialKind::RbNode; }
bool has(const std::vector<SpecialField>& fields, bool (*pred)(SpecialKind)) {
  return std::any_of(fields.begin(), fields.end(), [&](const SpecialField& f) { return pred(f.kind); });
}
size_t count(const std::vector<SpecialField>& fields, SpecialKind k) {
  return static_cast<size_t>(
      std::count_if(fields.begin(), fields.end(), [&](const SpecialField& f) { return f.kind == k; }));
}
// A record bpf_obj_new objects are made of: it can sit in a graph or carries a refcount.
bool is_graph_object(const std::vector<SpecialField>& fields) {
  return has(fields, is_root) || has(fields, is_node) || count(fields, SpecialKind::Refcount) != 0;
}

class Records {
 public:
  explicit Records(const BtfTypes& btf) : btf_(btf) {
    // __contains(T, F) tags, by (tagged type, member index; -1 for a VAR).
    for (uint32_t id = 1; id < btf.type_count(); ++id) {
      const btf_type* t = btf.type(id);
      if (!btf_is_decl_tag(t)) continue;
      const std::string value = btf.name(t->name_off);
      if (value.rfind(kContainsPrefix, 0) == 0)
        contains_[{t->type, btf_decl_tag(t)->component_idx}].push_back(value.substr(kContainsPrefix.size()));
    }
  }

  // The special fields of struct `id` (direct members), ascending offset, rules checked.
  std::vector<SpecialField> struct_fields(uint32_t id, const std::string& label) {
    const btf_type* t = btf_.type(id);
    std::vector<SpecialField> fields;
    std::vector<SpecialField> untagged;  // pointer-to-struct members without a kptr tag
    bool tagged = false;
    const btf_member* members = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); ++i) {
      if (btf_member_bitfield_size(t, i) != 0) continue;
      const std::string member = label + "." + btf_.name(members[i].name_off);
      const uint32_t bits = btf_member_bit_offset(t, i);
      const uint32_t mt = btf_.skip_modifiers(members[i].type);
      const btf_type* m = btf_.type(mt);
      if (btf_is_struct(m)) {
        const std::optional<SpecialKind> kind = special_struct(btf_.name(m->name_off));
        if (!kind) continue;
        SpecialField f = placed(*kind, bits, member);
        if (is_root(*kind)) resolve_contains(f, id, static_cast<int32_t>(i), member);
        fields.push_back(f);
      } else if (btf_is_ptr(m)) {
        const bool is_tagged = !find_kptr_offsets(btf_, members[i].type, label).empty();
        std::optional<SpecialField> kptr = pointer_field(m->type, bits, member, is_tagged);
        if (!kptr) continue;
        (is_tagged ? fields : untagged).push_back(*kptr);
        tagged = tagged || is_tagged;
      }
    }
    // clang 14 loses member type tags: a graph object's struct pointers are its kptrs.
    if (!tagged && is_graph_object(fields)) fields.insert(fields.end(), untagged.begin(), untagged.end());
    sort_and_check(fields, label);
    return fields;
  }

  // The special fields of global variable `var` (a VAR) placed at `offset` of its map value.
  std::vector<SpecialField> variable_fields(uint32_t var, uint32_t offset, const std::string& label,
                                            const std::vector<LocalType>& structs) {
    const btf_type* v = btf_.type(var);
    const uint32_t vt = btf_.skip_modifiers(v->type);
    const btf_type* t = btf_.type(vt);
    std::vector<SpecialField> out;
    if (btf_is_struct(t)) {
      if (const std::optional<SpecialKind> kind = special_struct(btf_.name(t->name_off))) {
        SpecialField f = placed(*kind, offset * 8, label);
        if (is_root(*kind)) resolve_contains(f, var, -1, label);
        out.push_back(f);
      } else if (const LocalType* lt = find(structs, vt)) {  // a struct holding special fields
        for (SpecialField f : lt->fields) {
          f.offset += offset;
          out.push_back(f);
        }
      }
    } else if (btf_is_ptr(t) && !find_kptr_offsets(btf_, v->type, label).empty()) {
      if (std::optional<SpecialField> f = pointer_field(t->type, offset * 8, label, true)) out.push_back(*f);
    }
    return out;
  }

  // Record rules (Linux's btf_parse_fields, btf_check_and_fixup_fields) on one record.
  void check_record(const std::vector<SpecialField>& fields, const std::string& label) const {
    if (!is_graph_object(fields)) return;  // plain locks and kptrs: the maps layer's concern
    if (count(fields, SpecialKind::SpinLock) > 1)
      fail(label + " holds more than one struct bpf_spin_lock",
           "a record with graph roots has one lock; put each lock and its roots in their own private(X) "
           "section or struct");
    if (count(fields, SpecialKind::Refcount) > 1) fail(label + " holds more than one struct bpf_refcount");
    if (has(fields, is_root) && count(fields, SpecialKind::SpinLock) == 0)
      fail(label + " holds a bpf_list_head or bpf_rb_root but no struct bpf_spin_lock",
           "declare the lock that guards the root beside it (globals: in the same private(X) section)");
    if (count(fields, SpecialKind::ListNode) != 0 && count(fields, SpecialKind::RbNode) != 0 &&
        count(fields, SpecialKind::Refcount) == 0)
      fail(label + " is both a list node and an rb node but has no struct bpf_refcount",
           "an object in two collections at once needs a struct bpf_refcount member");
  }

  // Linux's -ELOOP: a type that is both a root and a node may not contain types with roots.
  void check_acyclic(const std::vector<LocalType>& types) const {
    for (const LocalType& t : types) {
      if (!has(t.fields, is_root) || !has(t.fields, is_node)) continue;
      for (const SpecialField& f : t.fields) {
        if (!is_root(f.kind)) continue;
        const LocalType* inner = find(types, f.contained_type);
        if (inner && has(inner->fields, is_root))
          fail("struct " + t.name + " is a graph node whose root contains struct " + inner->name +
                   ", which holds roots itself",
               "objects may nest one level: a node type's roots must contain types without roots");
      }
    }
  }

  static const LocalType* find(const std::vector<LocalType>& types, uint32_t id) {
    auto it = std::lower_bound(types.begin(), types.end(), id,
                               [](const LocalType& t, uint32_t want) { return t.id < want; });
    return it != types.end() && it->id == id ? &*it : nullptr;
  }

  [[noreturn]] void fail(const std::string& what, const std::string& hint = {}) const {
    throw Error(what, btf_.where(), hint);
  }

 private:
  SpecialField placed(SpecialKind kind, uint32_t bits, const std::string& label) const {
    const uint32_t align = kind == SpecialKind::SpinLock || kind == SpecialKind::Refcount ? 4 : 8;
    if (bits % (align * 8) != 0)
      fail(label + ": " + kind_name(kind) + " at bit offset " + std::to_string(bits) + " is not " +
           std::to_string(align) + "-byte aligned");
    SpecialField f;
    f.kind = kind;
    f.offset = bits / 8;
    return f;
  }

  // A kptr to `pointee` at `bits`, or nullopt for an untagged pointer to something not a struct.
  std::optional<SpecialField> pointer_field(uint32_t pointee, uint32_t bits, const std::string& label,
                                            bool tagged) const {
    const btf_type* p = btf_.type(btf_.skip_modifiers(pointee));
    const bool is_struct = btf_is_struct(p) || (btf_is_fwd(p) && !btf_kflag(p));
    if (!is_struct || btf_.name(p->name_off).empty()) {
      if (tagged) fail(label + ": a kptr must point to a named struct");
      return std::nullopt;
    }
    SpecialField f = placed(SpecialKind::Kptr, bits, label);
    f.kptr_target = btf_.name(p->name_off);
    if (f.kptr_target != "sk_buff") {  // a packet; anything else is one of the program's objects
      const int32_t id = btf__find_by_name_kind(btf_.raw(), f.kptr_target.c_str(), BTF_KIND_STRUCT);
      if (id > 0) f.kptr_type = static_cast<uint32_t>(id);
    }
    return f;
  }

  // __contains(T, F): struct T of the program's BTF and its node member F.
  void resolve_contains(SpecialField& f, uint32_t owner, int32_t component, const std::string& label) const {
    const auto it = contains_.find({owner, component});
    if (it == contains_.end())
      fail(label + ": " + kind_name(f.kind) + " without __contains(type, node)",
           "declare it as `" + std::string(kind_name(f.kind)) + " name __contains(struct_name, node_member);`");
    if (it->second.size() != 1) fail(label + " has more than one __contains tag");
    const std::string& value = it->second.front();
    const size_t colon = value.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == value.size() ||
        value.find(':', colon + 1) != std::string::npos)
      fail(label + ": malformed __contains tag 'contains:" + value + "'", "expected contains:struct:member");
    const std::string type = value.substr(0, colon), member = value.substr(colon + 1);
    const int32_t id = btf__find_by_name_kind(btf_.raw(), type.c_str(), BTF_KIND_STRUCT);
    if (id <= 0)
      fail(label + ": __contains names struct '" + type + "', which the program's BTF does not define");
    const btf_type* t = btf_.type(static_cast<uint32_t>(id));
    const btf_member* members = btf_members(t);
    const SpecialKind node = f.kind == SpecialKind::ListHead ? SpecialKind::ListNode : SpecialKind::RbNode;
    std::optional<uint32_t> found;
    for (uint16_t i = 0; i < btf_vlen(t); ++i) {
      if (btf_.name(members[i].name_off) != member) continue;
      if (found) fail(label + ": struct " + type + " has member '" + member + "' twice");
      const btf_type* m = btf_.type(btf_.skip_modifiers(members[i].type));
      if (!btf_is_struct(m) || special_struct(btf_.name(m->name_off)) != node || btf_member_bitfield_size(t, i) != 0)
        fail(label + ": __contains names member '" + member + "' of struct " + type + ", which is not a " +
             kind_name(node));
      found = placed(node, btf_member_bit_offset(t, i), "struct " + type + "." + member).offset;
    }
    if (!found) fail(label + ": __contains names member '" + member + "', which struct " + type + " does not have");
    f.contained_type = static_cast<uint32_t>(id);
    f.node_offset = *found;
  }

  void sort_and_check(std::vector<SpecialField>& fields, const std::string& label) const {
    std::sort(fields.begin(), fields.end(),
              [](const SpecialField& a, const SpecialField& b) { return a.offset < b.offset; });
    check_record(fields, label);
  }

  const BtfTypes& btf_;
  std::map<std::pair<uint32_t, int32_t>, std::vector<std::string>> contains_;
};

// The value type of each BTF-defined map, by map index (the `value` member of its definition).
std::vector<std::pair<uint32_t, uint32_t>> map_value_types(const BtfTypes& btf, const ObjectSpec& spec) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  const std::optional<uint32_t> sec = btf.find_datasec(".maps");
  if (!sec) return out;
  const btf_type* ds = btf.type(*sec);
  const btf_var_secinfo* vars = btf_var_secinfos(ds);
  for (uint16_t i = 0; i < btf_vlen(ds); ++i) {
    const btf_type* var = btf.type(vars[i].type);
    if (!btf_is_var(var)) continue;
    const int index = spec.map_index(btf.name(var->name_off));
    const btf_type* def = btf.type(btf.skip_modifiers(var->type));
    if (index < 0 || !btf_is_struct(def)) continue;
    const btf_member* members = btf_members(def);
    for (uint16_t m = 0; m < btf_vlen(def); ++m) {
      if (btf.name(members[m].name_off) != "value") continue;
      const btf_type* ptr = btf.type(btf.skip_modifiers(members[m].type));
      if (btf_is_ptr(ptr)) out.emplace_back(static_cast<uint32_t>(index), ptr->type);
    }
  }
  return out;
}

}  // namespace

void read_graph_records(const BtfTypes& btf, ObjectSpec& spec) {
  Records records(btf);

  // Every named struct with a size: bpf_obj_new(T) may name any of them.
  spec.local_types.clear();
  for (uint32_t id = 1; id < btf.type_count(); ++id) {
    const btf_type* t = btf.type(id);
    if (!btf_is_struct(t) || t->size == 0 || t->name_off == 0) continue;
    LocalType lt;
    lt.id = id;
    lt.name = btf.name(t->name_off);
    lt.size = t->size;
    lt.fields = records.struct_fields(id, "struct " + lt.name);
    spec.local_types.push_back(std::move(lt));
  }
  records.check_acyclic(spec.local_types);

  // Globals: one record per global data map (a private(X) section), as Linux's DATASEC value.
  spec.global_fields.clear();
  for (size_t index = 0; index < spec.maps.size(); ++index) {
    const maps::MapSpec& map = spec.maps[index];
    if (map.section == ".maps" || !is_global_data_section(map.section)) continue;
    const std::optional<uint32_t> sec = btf.find_datasec(map.section);
    if (!sec) continue;
    const btf_type* ds = btf.type(*sec);
    const btf_var_secinfo* vars = btf_var_secinfos(ds);
    std::vector<SpecialField> fields;
    for (uint16_t i = 0; i < btf_vlen(ds); ++i) {
      const btf_type* var = btf.type(vars[i].type);
      if (!btf_is_var(var)) continue;
      const std::string name = btf.name(var->name_off);
      // The ELF symbol placed it (GlobalVariable); clang leaves DATASEC offsets 0.
      const auto g = std::find_if(spec.globals.begin(), spec.globals.end(), [&](const GlobalVariable& v) {
        return v.name == name && v.map_index == index;
      });
      if (g == spec.globals.end()) continue;
      for (const SpecialField& f : records.variable_fields(vars[i].type, g->offset, "global '" + name + "'",
                                                           spec.local_types))
        fields.push_back(f);
    }
    if (fields.empty()) continue;
    std::sort(fields.begin(), fields.end(),
              [](const SpecialField& a, const SpecialField& b) { return a.offset < b.offset; });
    const std::string label = "section " + map.section;
    if (map.read_only && is_graph_object(fields))
      records.fail(label + " is read-only but holds graph roots, nodes or refcounts",
                   "declare them in a writable private(X) section");
    records.check_record(fields, label);
    for (const SpecialField& f : fields) spec.global_fields.push_back({static_cast<uint32_t>(index), f});
  }

  // Map values: roots are not supported there; untagged pointers to graph objects are kptrs.
  for (const auto& [index, value_type] : map_value_types(btf, spec)) {
    maps::MapSpec& map = spec.maps[index];
    const uint32_t vt = btf.skip_modifiers(value_type);
    const LocalType* value = Records::find(spec.local_types, vt);
    if (!value) continue;
    map.value_btf_id = vt;
    if (has(value->fields, is_root) || has(value->fields, is_node))
      records.fail("map '" + map.name + "': its value holds a bpf_list_head, bpf_rb_root or node",
                   "bpfq keeps graph roots in global variables (private(X)) and in objects from bpf_obj_new");
    if (!map.kptr_offsets.empty() || !find_kptr_offsets(btf, vt, map.name).empty()) continue;  // tagged
    const btf_type* t = btf.type(vt);
    const btf_member* members = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); ++i) {
      const btf_type* m = btf.type(btf.skip_modifiers(members[i].type));
      if (!btf_is_ptr(m) || btf_member_bitfield_size(t, i) != 0) continue;
      const LocalType* target = Records::find(spec.local_types, btf.skip_modifiers(m->type));
      if (!target || !is_graph_object(target->fields)) continue;
      const uint32_t bits = btf_member_bit_offset(t, i);
      if (bits % 64 != 0)
        records.fail("map '" + map.name + "': object kptr at bit offset " + std::to_string(bits) +
                     " is not 8-byte aligned");
      map.kptr_offsets.push_back(bits / 8);
    }
    std::sort(map.kptr_offsets.begin(), map.kptr_offsets.end());
  }
}

}  // namespace bpfq::loader
