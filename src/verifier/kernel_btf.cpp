#include "kernel_btf.hpp"

#include <cerrno>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

namespace bpfq::verifier {

KernelBtf::KernelBtf(std::span<const uint8_t> raw) {
  if (raw.empty()) return;
  btf_ = btf__new(raw.data(), static_cast<uint32_t>(raw.size()));
  if (!btf_ || libbpf_get_error(btf_)) btf_ = nullptr;
}

KernelBtf::~KernelBtf() { btf__free(btf_); }

uint32_t KernelBtf::find_struct(std::string_view name) const {
  if (!btf_) return 0;
  const int id = btf__find_by_name_kind(btf_, std::string(name).c_str(), BTF_KIND_STRUCT);
  return id > 0 ? static_cast<uint32_t>(id) : 0;
}

std::string KernelBtf::struct_name(uint32_t id) const {
  const btf_type* t = btf_ ? btf__type_by_id(btf_, id) : nullptr;
  return t ? btf__name_by_offset(btf_, t->name_off) : "?";
}

namespace {

uint32_t resolve(const ::btf* b, uint32_t id) {
  const int r = btf__resolve_type(b, id);
  return r > 0 ? static_cast<uint32_t>(r) : 0;
}

int64_t size_of(const ::btf* b, uint32_t id) { return btf__resolve_size(b, id); }

}  // namespace

KernelBtf::Field KernelBtf::access(uint32_t struct_id, int64_t off, int size) const {
  Field f;
  f.path = struct_name(struct_id);
  uint32_t id = struct_id;
  for (;;) {
    id = resolve(btf_, id);
    const btf_type* t = id ? btf__type_by_id(btf_, id) : nullptr;
    if (!t) {
      f.error = "no type at " + f.path;
      return f;
    }
    const int64_t tsize = size_of(btf_, id);
    if (off < 0 || tsize < 0 || off + size > tsize) {
      f.error = "access off=" + std::to_string(off) + " size=" + std::to_string(size) + " is outside " + f.path +
                " (" + std::to_string(tsize) + " bytes)";
      return f;
    }
    if (btf_is_composite(t)) {
      const btf_member* m = btf_members(t);
      bool found = false;
      for (uint16_t k = 0; k < btf_vlen(t) && !found; ++k) {
        const uint32_t bits = btf_member_bit_offset(t, k), bitsz = btf_member_bitfield_size(t, k);
        const int64_t moff = bits / 8;
        const int64_t msize = bitsz ? (bits % 8 + bitsz + 7) / 8 : size_of(btf_, m[k].type);
        if (off < moff || off + size > moff + msize) continue;
        found = true;
        if (m[k].name_off) f.path += std::string(".") + btf__name_by_offset(btf_, m[k].name_off);
        if (bitsz) return f;  // a bitfield: a number
        id = m[k].type;
        off -= moff;
      }
      if (!found) {
        f.error = "access off=" + std::to_string(off) + " size=" + std::to_string(size) + " does not lie within one field of " + f.path;
        return f;
      }
      continue;
    }
    if (btf_is_array(t)) {
      const struct btf_array* a = btf_array(t);
      const int64_t esize = size_of(btf_, a->type);
      const btf_type* e = btf__type_by_id(btf_, resolve(btf_, a->type));
      f.path += "[]";
      if (esize <= 0 || !e) {
        f.error = "array " + f.path + " of unknown size";
        return f;
      }
      if (btf_is_int(e) || btf_is_any_enum(e)) return f;  // bytes or numbers: any access inside
      if (off % esize + size > esize) {
        f.error = "access crosses elements of " + f.path;
        return f;
      }
      off %= esize;
      id = a->type;
      continue;
    }
    if (btf_is_ptr(t)) {
      if (off != 0 || size != 8) {
        f.error = "partial read of pointer " + f.path;
        return f;
      }
      const btf_type* target = btf__type_by_id(btf_, resolve(btf_, t->type));
      if (target && btf_is_struct(target)) f.pointee = resolve(btf_, t->type);
      return f;
    }
    return f;  // int, enum, float: a number
  }
}

std::optional<std::pair<uint32_t, uint32_t>> KernelBtf::field_range(std::string_view path) const {
  const size_t dot = path.find('.');
  uint32_t id = find_struct(path.substr(0, dot));
  if (!id) return std::nullopt;
  uint32_t off = 0;
  std::string_view rest = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  // Finds `name` among the members of struct id, looking inside anonymous members too.
  auto find = [&](auto&& self, uint32_t sid, std::string_view name, uint32_t& at) -> uint32_t {
    const btf_type* t = btf__type_by_id(btf_, resolve(btf_, sid));
    if (!t || !btf_is_composite(t)) return 0;
    const btf_member* m = btf_members(t);
    for (uint16_t k = 0; k < btf_vlen(t); ++k) {
      const uint32_t moff = btf_member_bit_offset(t, k) / 8;
      if (m[k].name_off && btf__name_by_offset(btf_, m[k].name_off) == name) {
        at += moff;
        return m[k].type;
      }
      if (!m[k].name_off) {
        uint32_t inner = at + moff;
        if (const uint32_t r = self(self, m[k].type, name, inner)) {
          at = inner;
          return r;
        }
      }
    }
    return 0;
  };
  while (!rest.empty()) {
    const size_t d = rest.find('.');
    id = find(find, id, rest.substr(0, d), off);
    if (!id) return std::nullopt;
    rest = d == std::string_view::npos ? std::string_view{} : rest.substr(d + 1);
  }
  const int64_t size = size_of(btf_, id);
  if (size <= 0) return std::nullopt;
  return std::pair{off, static_cast<uint32_t>(size)};
}

}  // namespace bpfq::verifier
