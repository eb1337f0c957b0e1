#pragma once
// What a map is, as declared by a program (BTF `.maps`, global data sections) or by user space.
// Pure data: the loader produces it, the maps layer builds a Map from it.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/bpf/map_types.h>

namespace bpfq::maps {

// uapi enum bpf_map_type values bpfq implements, plus its own (map_types.h).
enum class MapType : uint32_t {
  Hash = 1,
  Array = 2,
  PercpuArray = 6,
  LruHash = 9,
  ArrayOfMaps = 12,
  HashOfMaps = 13,
  Queue = 22,
  Stack = 23,
  Ringbuf = 27,
  Rbtree = BPF_MAP_TYPE_RBTREE,
  RbtreeOfMaps = BPF_MAP_TYPE_RBTREE_OF_MAPS,
  Pifo = BPF_MAP_TYPE_PIFO,
};

// The longest key a map may have: the kernel's MAX_BPF_STACK, since keys live on the stack.
constexpr uint32_t kMaxKeySize = 512;

// ARRAY_OF_MAPS, HASH_OF_MAPS, RBTREE_OF_MAPS: maps whose values are inner maps.
constexpr bool is_map_of_maps(uint32_t type) {
  return type == static_cast<uint32_t>(MapType::ArrayOfMaps) ||
         type == static_cast<uint32_t>(MapType::HashOfMaps) ||
         type == static_cast<uint32_t>(MapType::RbtreeOfMaps);
}

struct MapSpec {
  std::string name;
  uint32_t type = 0;  // a MapType value; anything else is rejected when the map is created
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t flags = 0;
  uint64_t extra = 0;  // map_extra (PIFO: priority range in the low 32 bits)
  // Byte offsets in the value of packet-reference (kptr) fields, from BTF type tags.
  std::vector<uint32_t> kptr_offsets;
  // Byte offset in the value of its struct bpf_spin_lock (BTF), if it has one.
  std::optional<uint32_t> spin_lock_offset;
  // The program's BTF id of the value's struct (0: none): where the verifier finds what each
  // kptr field holds (a packet, or one of the program's graph objects).
  uint32_t value_btf_id = 0;
  // Map-in-map: the template of the inner maps.
  std::shared_ptr<MapSpec> inner;
  // Global data (.data/.rodata/.bss, .kconfig): element 0 holds the object's variables.
  bool global_data = false;
  // The first bytes of element 0; the rest are zeros (all of a writable .bss, which has no file
  // bytes: kept empty so that a large one costs nothing until its pages are touched).
  std::vector<uint8_t> initial_value;
  bool read_only = false;  // .rodata or BPF_F_RDONLY_PROG: the program may not write
  // ELF section the spec was declared in (".maps", ".bss", ".rodata.str1.1", …); empty for
  // specs built in code.
  std::string section;
};

}  // namespace bpfq::maps
