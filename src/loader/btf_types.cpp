#include "btf_types.hpp"

#include <bpf/btf.h>

#include <cerrno>
#include <cstring>

#include <bpfq/error.hpp>

namespace bpfq::loader {

namespace {

// Deeper chains than this are a corrupted (or cyclic) type graph, not a real program.
constexpr int kMaxModifierDepth = 32;

bool is_modifier(const btf_type* t) {
  switch (btf_kind(t)) {
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
      return true;
    default:
      return false;
  }
}

}  // namespace

BtfTypes::BtfTypes(std::span<const uint8_t> section_data, std::string where)
    : where_(std::move(where)) {
  if (section_data.size() < sizeof(btf_header))
    throw Error("BTF is truncated (" + std::to_string(section_data.size()) + " bytes)", where_,
                "the file is corrupted");
  btf_header hdr;
  std::memcpy(&hdr, section_data.data(), sizeof hdr);
  if (hdr.magic != BTF_MAGIC)
    throw Error("bad BTF magic", where_, "the file is corrupted");
  btf_ = btf__new(section_data.data(), static_cast<uint32_t>(section_data.size()));
  if (!btf_) {
    const int err = errno;
    btf_ = nullptr;
    throw Error(std::string("invalid BTF: ") + std::strerror(err), where_,
                "the file is corrupted, or was built by a compiler emitting newer BTF kinds");
  }
  try {
    validate_references();
  } catch (...) {
    btf__free(btf_);
    throw;
  }
}

BtfTypes::~BtfTypes() { btf__free(btf_); }

uint32_t BtfTypes::type_count() const { return btf__type_cnt(btf_); }

const btf_type* BtfTypes::type(uint32_t id) const {
  const btf_type* t = btf__type_by_id(btf_, id);
  if (!t) throw Error("BTF type id " + std::to_string(id) + " does not exist", where_);
  return t;
}

std::string BtfTypes::name(uint32_t name_offset) const {
  const char* s = btf__name_by_offset(btf_, name_offset);
  if (!s) throw Error("BTF name offset " + std::to_string(name_offset) + " is out of range", where_);
  return s;
}

std::string BtfTypes::type_name(uint32_t id) const { return name(type(id)->name_off); }

uint32_t BtfTypes::skip_modifiers(uint32_t id) const {
  for (int depth = 0; depth < kMaxModifierDepth; ++depth) {
    const btf_type* t = type(id);
    if (!is_modifier(t)) return id;
    id = t->type;
  }
  throw Error("BTF type chain at id " + std::to_string(id) + " is too deep or cyclic", where_);
}

uint64_t BtfTypes::size_of(uint32_t id, std::string_view what) const {
  const long long size = btf__resolve_size(btf_, id);
  if (size < 0)
    throw Error("cannot determine the size of " + std::string(what) + " (BTF type " +
                    std::to_string(id) + ")",
                where_);
  return static_cast<uint64_t>(size);
}

std::optional<uint32_t> BtfTypes::find_datasec(std::string_view name) const {
  const int32_t id = btf__find_by_name_kind(btf_, std::string(name).c_str(), BTF_KIND_DATASEC);
  if (id <= 0) return std::nullopt;
  return static_cast<uint32_t>(id);
}

std::string BtfTypes::first_param_struct(std::string_view function) const {
  const int32_t func = btf__find_by_name_kind(btf_, std::string(function).c_str(), BTF_KIND_FUNC);
  if (func <= 0) return {};
  const btf_type* proto = type(type(static_cast<uint32_t>(func))->type);
  if (!btf_is_func_proto(proto) || btf_vlen(proto) == 0) return {};
  const btf_type* param = type(skip_modifiers(btf_params(proto)[0].type));
  if (!btf_is_ptr(param)) return {};
  const uint32_t pointee = skip_modifiers(param->type);
  return btf_is_struct(type(pointee)) ? type_name(pointee) : std::string();
}

// Every type id and name offset a record holds must resolve.
void BtfTypes::validate_references() const {
  const uint32_t count = type_count();
  auto check_id = [&](uint32_t from, uint32_t to) {
    if (to >= count)
      throw Error("BTF type " + std::to_string(from) + " refers to type " + std::to_string(to) +
                      ", which does not exist",
                  where_, "the file is corrupted");
  };
  auto check_name = [&](uint32_t from, uint32_t offset) {
    if (!btf__name_by_offset(btf_, offset))
      throw Error("BTF type " + std::to_string(from) + " has a name offset out of range", where_,
                  "the file is corrupted");
  };
  for (uint32_t id = 1; id < count; ++id) {
    const btf_type* t = type(id);
    check_name(id, t->name_off);
    switch (btf_kind(t)) {
      case BTF_KIND_PTR:
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_FUNC:
      case BTF_KIND_VAR:
      case BTF_KIND_TYPE_TAG:
      case BTF_KIND_DECL_TAG:
        check_id(id, t->type);
        break;
      case BTF_KIND_ARRAY:
        check_id(id, btf_array(t)->type);
        check_id(id, btf_array(t)->index_type);
        break;
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION: {
        const btf_member* m = btf_members(t);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) {
          check_id(id, m[i].type);
          check_name(id, m[i].name_off);
        }
        break;
      }
      case BTF_KIND_FUNC_PROTO: {
        check_id(id, t->type);
        const btf_param* p = btf_params(t);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) {
          check_id(id, p[i].type);
          check_name(id, p[i].name_off);
        }
        break;
      }
      case BTF_KIND_DATASEC: {
        const btf_var_secinfo* v = btf_var_secinfos(t);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) check_id(id, v[i].type);
        break;
      }
      case BTF_KIND_ENUM: {
        const struct btf_enum* e = btf_enum(t);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) check_name(id, e[i].name_off);
        break;
      }
      case BTF_KIND_ENUM64: {
        const struct btf_enum64* e = btf_enum64(t);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) check_name(id, e[i].name_off);
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace bpfq::loader
