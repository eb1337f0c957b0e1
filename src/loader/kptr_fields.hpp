#pragma once
// Where a map value holds packet references: pointers whose pointee carries the BTF type tag
// "kptr" or "kptr_ref" (`struct sk_buff __kptr_ref *skb;`). clang-14 encodes the tag between
// the pointer and the struct: PTR -> TYPE_TAG "kptr_ref" -> STRUCT/FWD sk_buff.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "btf_types.hpp"

namespace bpfq::loader {

// More kptr fields than this in one value is a hostile type graph (the kernel allows 10).
inline constexpr size_t kMaxKptrFields = 4096;

// Byte offsets of the kptr fields in a value of BTF type value_type, ascending, found through
// nested structs, unions and arrays. Throws (naming map_name) for misaligned or too many fields.
std::vector<uint32_t> find_kptr_offsets(const BtfTypes& btf, uint32_t value_type,
                                        const std::string& map_name);

// The byte offset of the struct bpf_spin_lock member of a struct value type (as the kernel: a
// direct member, at most one), if any.
std::optional<uint32_t> find_spin_lock_offset(const BtfTypes& btf, uint32_t value_type,
                                              const std::string& map_name);

}  // namespace bpfq::loader
