#include "btf_maps.hpp"

#include <bpf/btf.h>
#include <linux/bpf.h>

#include <optional>
#include <set>

#include <bpfq/error.hpp>

#include "kptr_fields.hpp"
#include "location.hpp"

namespace bpfq::loader {

namespace {

// libbpf's enum libbpf_pin_type.
constexpr uint32_t kPinNone = 0, kPinByName = 1;

constexpr const char* kKnownFields =
    "type, max_entries, key, value, key_size, value_size, map_flags, map_extra, numa_node, "
    "pinning, values";

// Reads one map definition struct. Inner definitions (map-in-map templates) use the same
// syntax but may not nest further.
class MapDefinitionReader {
 public:
  MapDefinitionReader(const BtfTypes& btf, std::string where) : btf_(btf), where_(std::move(where)) {}

  // pinning: set to the definition's `pinning` value (kPinNone if absent).
  maps::MapSpec read(uint32_t struct_id, const std::string& name, bool is_inner, uint32_t& pinning) {
    const btf_type* def = btf_.type(struct_id);
    if (!btf_is_struct(def))
      fail(name, "definition is not a struct",
           "declare maps as struct { __uint(type, …); … } name SEC(\".maps\");");

    maps::MapSpec spec;
    spec.name = name;
    spec.section = ".maps";
    std::optional<uint32_t> type, key_size, value_size;
    std::optional<uint32_t> value_type;
    std::shared_ptr<maps::MapSpec> inner;
    std::set<std::string> seen;

    const btf_member* members = btf_members(def);
    for (uint16_t i = 0; i < btf_vlen(def); ++i) {
      const std::string field = btf_.name(members[i].name_off);
      if (!seen.insert(field).second) fail(name, "field '" + field + "' appears twice");
      const uint32_t member_type = members[i].type;
      if (field == "type") {
        type = integer_field(name, field, member_type);
      } else if (field == "max_entries") {
        spec.max_entries = integer_field(name, field, member_type);
      } else if (field == "map_flags") {
        spec.flags = integer_field(name, field, member_type);
        spec.read_only = (spec.flags & BPF_F_RDONLY_PROG) != 0;  // a configuration map user space fills
      } else if (field == "map_extra") {
        spec.extra = integer_field(name, field, member_type);
      } else if (field == "numa_node") {
        integer_field(name, field, member_type);  // accepted for source compatibility; unused
      } else if (field == "pinning") {
        pinning = integer_field(name, field, member_type);
        if (pinning != kPinNone && pinning != kPinByName)
          fail(name, "has pinning " + std::to_string(pinning),
               "use LIBBPF_PIN_NONE (0) or LIBBPF_PIN_BY_NAME (1)");
        if (is_inner && pinning != kPinNone)
          fail(name, "is an inner map definition with pinning", "only top-level maps can be pinned");
      } else if (field == "key_size") {
        key_size = agree(name, "key", key_size, integer_field(name, field, member_type));
      } else if (field == "value_size") {
        value_size = agree(name, "value", value_size, integer_field(name, field, member_type));
      } else if (field == "key") {
        key_size = agree(name, "key", key_size, pointee_size(name, field, member_type));
      } else if (field == "value") {
        value_size = agree(name, "value", value_size, pointee_size(name, field, member_type));
        value_type = pointee(name, field, member_type);
      } else if (field == "values") {
        if (is_inner)
          fail(name, "an inner map definition cannot have its own 'values'",
               "only one level of map-in-map is supported");
        uint32_t inner_pinning = kPinNone;
        inner = std::make_shared<maps::MapSpec>(
            read(inner_definition(name, member_type), name + ".inner", true, inner_pinning));
      } else {
        fail(name, "unknown field '" + field + "'", std::string("known fields: ") + kKnownFields);
      }
    }

    if (!type) fail(name, "has no type", "add __uint(type, BPF_MAP_TYPE_…) to its definition");
    spec.type = *type;
    if (inner) {
      if (!maps::is_map_of_maps(spec.type))
        fail(name, "has 'values' but type " + std::to_string(spec.type) + " is not a map-in-map type",
             "'values' declares the inner map of ARRAY_OF_MAPS, HASH_OF_MAPS or RBTREE_OF_MAPS");
      // The value of a map-in-map slot is an inner map id, as in the kernel.
      value_size = agree(name, "value", value_size, 4);
      spec.inner = std::move(inner);
    } else if (maps::is_map_of_maps(spec.type)) {
      fail(name, "is a map-in-map without an inner map definition",
           "declare the inner map with __array(values, struct inner_definition)");
    }
    spec.key_size = key_size.value_or(0);
    spec.value_size = value_size.value_or(0);
    if (value_type) {
      spec.kptr_offsets = find_kptr_offsets(btf_, *value_type, name);
      spec.spin_lock_offset = find_spin_lock_offset(btf_, *value_type, name);
    }
    return spec;
  }

 private:
  // __uint(name, N) is `int (*name)[N]`: the value is the array's element count.
  uint32_t integer_field(const std::string& map, const std::string& field, uint32_t member_type) {
    const btf_type* ptr = btf_.type(btf_.skip_modifiers(member_type));
    const btf_type* array = btf_is_ptr(ptr) ? btf_.type(btf_.skip_modifiers(ptr->type)) : nullptr;
    if (!array || !btf_is_array(array))
      fail(map, "field '" + field + "' is not an integer declaration",
           "declare it with __uint(" + field + ", value)");
    return btf_array(array)->nelems;
  }

  // __type(name, T) is `typeof(T) *name`.
  uint32_t pointee(const std::string& map, const std::string& field, uint32_t member_type) {
    const btf_type* ptr = btf_.type(btf_.skip_modifiers(member_type));
    if (!btf_is_ptr(ptr))
      fail(map, "field '" + field + "' is not a type declaration",
           "declare it with __type(" + field + ", type)");
    return ptr->type;
  }

  uint32_t pointee_size(const std::string& map, const std::string& field, uint32_t member_type) {
    const uint64_t size = btf_.size_of(pointee(map, field, member_type),
                                       "the " + field + " type of map '" + map + "'");
    if (size > UINT32_MAX) fail(map, field + " type is larger than 4 GiB");
    return static_cast<uint32_t>(size);
  }

  // __array(values, struct inner) is `typeof(struct inner) *values[]`.
  uint32_t inner_definition(const std::string& map, uint32_t member_type) {
    const btf_type* array = btf_.type(btf_.skip_modifiers(member_type));
    const btf_type* ptr =
        btf_is_array(array) ? btf_.type(btf_.skip_modifiers(btf_array(array)->type)) : nullptr;
    if (!ptr || !btf_is_ptr(ptr))
      fail(map, "field 'values' is not an array of pointers",
           "declare it with __array(values, struct inner_definition)");
    const uint32_t target = btf_.skip_modifiers(ptr->type);
    if (btf_is_func_proto(btf_.type(target)))
      fail(map, "program arrays (values of function pointers) are not supported");
    return target;
  }

  uint32_t agree(const std::string& map, const std::string& what, std::optional<uint32_t> earlier,
                 uint32_t size) {
    if (earlier && *earlier != size)
      fail(map, "conflicting " + what + " sizes " + std::to_string(*earlier) + " and " +
                    std::to_string(size),
           "give either __type(" + what + ", …) or __uint(" + what + "_size, …), or make them agree");
    return size;
  }

  [[noreturn]] void fail(const std::string& map, const std::string& why, const std::string& hint = {}) {
    throw Error("map '" + map + "' " + why, where_, hint);
  }

  const BtfTypes& btf_;
  std::string where_;
};

}  // namespace

std::vector<DeclaredMap> read_btf_maps(const BtfTypes& btf, const ElfFile& elf,
                                       const ElfSection& maps_section) {
  const std::string where = at_section(elf.file_name(), maps_section.name);
  const std::optional<uint32_t> datasec = btf.find_datasec(".maps");
  if (!datasec) {
    if (maps_section.size == 0) return {};
    throw Error("section .maps has no BTF description (no DATASEC .maps)", where,
                "compile with -g so clang emits BTF for map definitions");
  }

  MapDefinitionReader reader(btf, where);
  std::vector<DeclaredMap> out;
  std::set<uint64_t> offsets;
  const btf_type* sec = btf.type(*datasec);
  const btf_var_secinfo* vars = btf_var_secinfos(sec);
  for (uint16_t i = 0; i < btf_vlen(sec); ++i) {
    const btf_type* var = btf.type(vars[i].type);
    if (!btf_is_var(var))
      throw Error("DATASEC .maps entry " + std::to_string(i) + " is not a variable", where);
    const std::string name = btf.name(var->name_off);

    // clang-14 leaves the DATASEC offsets of global variables at 0; the symbol table has them.
    const ElfSymbol* sym = elf.find_object(name, maps_section.index);
    const uint64_t offset = sym ? sym->value : vars[i].offset;
    const uint32_t def = btf.skip_modifiers(var->type);
    const uint64_t def_size = btf.size_of(def, "the definition of map '" + name + "'");
    if (offset > maps_section.size || def_size > maps_section.size - offset)
      throw Error("map '" + name + "' lies outside section .maps", where, "the file is corrupted");
    if (!offsets.insert(offset).second)
      throw Error("map '" + name + "' overlaps another map at offset " + std::to_string(offset), where,
                  "the file is corrupted");
    uint32_t pinning = kPinNone;
    maps::MapSpec spec = reader.read(def, name, false, pinning);
    out.push_back({std::move(spec), offset, pinning == kPinByName});
  }
  return out;
}

}  // namespace bpfq::loader
