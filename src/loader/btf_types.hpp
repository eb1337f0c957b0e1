#pragma once
// The object's .BTF, parsed by libbpf and then checked so that every type id and name offset
// it contains resolves: libbpf 1.1 validates the layout of each record but not the references
// between them, and a corrupted object must not steer later stages out of bounds.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct btf;
struct btf_type;

namespace bpfq::loader {

class BtfTypes {
 public:
  // where: location for errors ("<file> section .BTF").
  BtfTypes(std::span<const uint8_t> section_data, std::string where);
  ~BtfTypes();
  BtfTypes(const BtfTypes&) = delete;
  BtfTypes& operator=(const BtfTypes&) = delete;

  const std::string& where() const { return where_; }
  uint32_t type_count() const;  // ids are 1..type_count()-1; 0 is void
  // Never null for a validated id; throws for an id out of range.
  const ::btf_type* type(uint32_t id) const;
  // The string at a name offset (validated at construction, so this cannot fail for names
  // read from types).
  std::string name(uint32_t name_offset) const;
  std::string type_name(uint32_t id) const;
  // Follows typedef/const/volatile/restrict/type-tag links to the underlying type id.
  uint32_t skip_modifiers(uint32_t id) const;
  // btf__resolve_size; throws (with what) when the size is unknown.
  uint64_t size_of(uint32_t id, std::string_view what) const;
  // The struct that the first parameter of FUNC `function` points to ("" if there is no such
  // FUNC, it has no parameter, or that is not a pointer to a named struct).
  std::string first_param_struct(std::string_view function) const;
  // The DATASEC with that name, if present.
  std::optional<uint32_t> find_datasec(std::string_view name) const;

  const ::btf* raw() const { return btf_; }

 private:
  void validate_references() const;

  std::string where_;
  ::btf* btf_ = nullptr;
};

}  // namespace bpfq::loader
