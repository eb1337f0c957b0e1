#include "kptr_fields.hpp"

#include <bpf/btf.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <bpfq/error.hpp>

namespace bpfq::loader {

namespace {

constexpr int kMaxNesting = 32;

bool is_kptr_tag(const std::string& tag) { return tag == "kptr" || tag == "kptr_ref"; }

// Offsets are computed once per type id (relative to the start of that type) so a type graph
// that reuses one struct many times costs linear time.
class KptrScanner {
 public:
  KptrScanner(const BtfTypes& btf, const std::string& map_name) : btf_(btf), map_(map_name) {}

  const std::vector<uint64_t>& offsets_in(uint32_t id, int depth) {
    if (depth > kMaxNesting) fail("value type nesting is deeper than " + std::to_string(kMaxNesting));
    id = btf_.skip_modifiers(id);
    if (auto it = memo_.find(id); it != memo_.end()) return it->second;
    if (!in_progress_.insert(id).second) fail("value type contains itself (BTF type " + std::to_string(id) + ")");

    std::vector<uint64_t> found;
    const btf_type* t = btf_.type(id);
    if (btf_is_ptr(t)) {
      if (points_to_kptr_tag(t)) found.push_back(0);
    } else if (btf_is_composite(t)) {
      const btf_member* members = btf_members(t);
      for (uint16_t i = 0; i < btf_vlen(t); ++i) {
        if (btf_member_bitfield_size(t, i) != 0) continue;  // a bitfield is never a pointer
        const uint32_t bit_offset = btf_member_bit_offset(t, i);
        const std::vector<uint64_t>& inner = offsets_in(members[i].type, depth + 1);
        if (inner.empty()) continue;
        if (bit_offset % 8 != 0) fail("kptr field at bit offset " + std::to_string(bit_offset) + " is not byte-aligned");
        append(found, inner, bit_offset / 8);
      }
    } else if (btf_is_array(t)) {
      const struct btf_array* array = btf_array(t);
      const std::vector<uint64_t> per_element = offsets_in(array->type, depth + 1);
      if (!per_element.empty()) {
        if (array->nelems > kMaxKptrFields / per_element.size()) too_many();
        const uint64_t stride = btf_.size_of(array->type, "an array element of map '" + map_ + "'");
        for (uint32_t i = 0; i < array->nelems; ++i) append(found, per_element, i * stride);
      }
    }
    in_progress_.erase(id);
    return memo_[id] = std::move(found);
  }

 private:
  // PTR -> (TYPE_TAG | CONST | VOLATILE | RESTRICT)* -> pointee; any kptr tag in that run counts.
  bool points_to_kptr_tag(const btf_type* ptr) {
    uint32_t id = ptr->type;
    for (int depth = 0; depth < kMaxNesting; ++depth) {
      const btf_type* t = btf_.type(id);
      const int kind = btf_kind(t);
      if (kind == BTF_KIND_TYPE_TAG && is_kptr_tag(btf_.name(t->name_off))) return true;
      if (kind != BTF_KIND_TYPE_TAG && kind != BTF_KIND_CONST && kind != BTF_KIND_VOLATILE &&
          kind != BTF_KIND_RESTRICT)
        return false;
      id = t->type;
    }
    return false;
  }

  void append(std::vector<uint64_t>& out, const std::vector<uint64_t>& offsets, uint64_t base) {
    if (out.size() + offsets.size() > kMaxKptrFields) too_many();
    for (uint64_t o : offsets) out.push_back(base + o);
  }

  [[noreturn]] void too_many() {
    fail("value holds more than " + std::to_string(kMaxKptrFields) + " kptr fields");
  }

  [[noreturn]] void fail(const std::string& why) {
    throw Error("map '" + map_ + "': " + why, btf_.where());
  }

  const BtfTypes& btf_;
  const std::string& map_;
  std::unordered_map<uint32_t, std::vector<uint64_t>> memo_;
  std::unordered_set<uint32_t> in_progress_;
};

}  // namespace

std::vector<uint32_t> find_kptr_offsets(const BtfTypes& btf, uint32_t value_type,
                                        const std::string& map_name) {
  KptrScanner scanner(btf, map_name);
  std::vector<uint64_t> offsets = scanner.offsets_in(value_type, 0);
  std::sort(offsets.begin(), offsets.end());
  offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
  std::vector<uint32_t> out;
  out.reserve(offsets.size());
  for (uint64_t o : offsets) {
    if (o % 8 != 0 || o > UINT32_MAX)
      throw Error("map '" + map_name + "': kptr field at offset " + std::to_string(o) +
                      " is not 8-byte aligned",
                  btf.where(), "packet references must be naturally aligned pointer fields");
    out.push_back(static_cast<uint32_t>(o));
  }
  return out;
}

std::optional<uint32_t> find_spin_lock_offset(const BtfTypes& btf, uint32_t value_type,
                                              const std::string& map_name) {
  const btf_type* t = btf.type(btf.skip_modifiers(value_type));
  if (!btf_is_struct(t)) return std::nullopt;
  std::optional<uint32_t> found;
  const btf_member* members = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t); ++i) {
    const btf_type* m = btf.type(btf.skip_modifiers(members[i].type));
    if (!btf_is_struct(m) || btf.name(m->name_off) != "bpf_spin_lock") continue;
    if (found)
      throw Error("map '" + map_name + "': its value holds more than one struct bpf_spin_lock", btf.where(),
                  "one lock per map value, as in the kernel");
    const uint32_t bits = btf_member_bit_offset(t, i);
    if (bits % 32 != 0)
      throw Error("map '" + map_name + "': struct bpf_spin_lock at bit offset " + std::to_string(bits) +
                      " is not 4-byte aligned",
                  btf.where());
    found = bits / 8;
  }
  return found;
}

}  // namespace bpfq::loader
