#pragma once
// The Map interface: every BPF map type behind the operations BPF helpers and user space call.
//
// BPF-side operations (lookup … for_each) are the hot path: they never throw and never allocate
// once the map exists, and they return 0 or a negative errno exactly as the kernel's map ops do.
// Maps are not thread-safe: their owner serialises access (one qdisc, one thread).
//
// Packet references (kptrs) live in 8-byte pointer fields of a value, at spec().kptr_offsets.
// The map owns them: whenever a value holding a non-NULL kptr leaves the map (delete, overwrite,
// pop, LRU eviction, clear, destruction) the map calls the dtor set by set_kptr_dtor() on it.
// Values copied into the map never carry references (their kptr fields start NULL), and values
// copied out of it never do either (their kptr fields read as NULL).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <bpfq/maps/function_ref.hpp>
#include <bpfq/maps/map_spec.hpp>

namespace bpfq::maps {

// bpf_map_update_elem() flags.
inline constexpr uint64_t kBpfAny = 0;      // BPF_ANY: create or overwrite
inline constexpr uint64_t kBpfNoExist = 1;  // BPF_NOEXIST: create only
inline constexpr uint64_t kBpfExist = 2;    // BPF_EXIST: overwrite only (QUEUE/STACK push: evict the oldest)

// Releases a packet reference held in a value's kptr field (the seed's bpf_skb_release).
using KptrDtor = void (*)(void* ptr);

class Map : public std::enable_shared_from_this<Map> {
 public:
  virtual ~Map();
  Map(const Map&) = delete;
  Map& operator=(const Map&) = delete;

  const MapSpec& spec() const { return spec_; }
  MapType type() const { return static_cast<MapType>(spec_.type); }
  const std::string& name() const { return spec_.name; }

  // ---- BPF-side operations ----

  // Pointer to the value in map storage, or nullptr. It stays valid until that element is deleted
  // (elements never move). Map-of-maps return the inner Map* itself; PIFO returns a pointer to the
  // u32 element count of the rank in *key.
  virtual void* lookup(const void* key) = 0;
  // flags: kBpfAny / kBpfNoExist / kBpfExist. Errors: -EEXIST, -ENOENT, -E2BIG (full), -EINVAL.
  virtual int update(const void* key, const void* value, uint64_t flags) = 0;
  // bpf_map_delete_elem: 0 or -ENOENT (-EINVAL where the type has no delete).
  virtual int erase(const void* key) = 0;
  // key == nullptr: the first key. -ENOENT after the last one.
  virtual int get_next_key(const void* key, void* next_key) = 0;
  // QUEUE, STACK, PIFO (others: -EINVAL).
  virtual int push(const void* value, uint64_t flags);
  // QUEUE, STACK, RBTREE, RBTREE_OF_MAPS, PIFO (others: -EINVAL). -ENOENT when empty.
  virtual int pop(void* value);
  virtual int peek(void* value);
  // Visits elements in the map's order; visit returns 0 to go on, 1 to stop. Returns the number
  // of elements visited (the one that stopped included), or -EINVAL where the type cannot be
  // iterated. visit may delete the element it is visiting, and no other.
  virtual long for_each(FunctionRef<int(const void* key, void* value)> visit) = 0;

  // ---- lifecycle and user space ----

  // Back to the just-created state, releasing every packet reference (device down, reset).
  virtual void clear() = 0;
  // BPF_MAP_FREEZE: afterwards update() fails with -EPERM. ARRAY and PERCPU_ARRAY only (the
  // loader freezes .rodata once user space has written it); other types return -EINVAL.
  virtual int freeze();
  virtual bool frozen() const;

  void set_kptr_dtor(KptrDtor dtor) { kptr_dtor_ = dtor; }
  KptrDtor kptr_dtor() const { return kptr_dtor_; }

  // ARRAY maps: where element 0 lies and the bytes from one element to the next, for code that
  // computes an element's address itself (the JIT's inline lookup); {nullptr, 0} otherwise.
  struct Layout {
    void* values = nullptr;
    uint32_t stride = 0;
  };
  virtual Layout layout() const { return {}; }

  // libbpf's bpf_map__lookup_elem: copies the value out (kptr fields read as NULL), -ENOENT if
  // absent. Unlike lookup() it does not count as a use for LRU_HASH. QUEUE/STACK: peek.
  virtual int lookup_copy(const void* key, void* value_out);

  // Elements currently held (ARRAY: max_entries; RINGBUF: records not yet consumed).
  size_t size() const { return size_; }

 protected:
  explicit Map(const MapSpec& spec);

  bool has_kptrs() const { return !kptr_offsets_.empty(); }
  // Calls the dtor on every non-NULL kptr field of an element's value and NULLs the field.
  void release_kptrs(void* value) {
    if (!kptr_offsets_.empty()) release_kptr_fields(value);
  }
  // Copies value_size bytes (overlap allowed) and NULLs the kptr fields of dst: how values enter
  // the map (a program cannot forge a reference) and leave it (the map keeps its references).
  void copy_without_kptrs(void* dst, const void* src) const {
    if (value_size_ == 8) {  // the common u64 value (a rank, a packet reference): no call
      uint64_t word;
      std::memcpy(&word, src, sizeof word);
      std::memcpy(dst, &word, sizeof word);
    } else {
      std::memmove(dst, src, value_size_);
    }
    if (!kptr_offsets_.empty()) null_kptr_fields(dst);
  }

  size_t size_ = 0;

 private:
  void release_kptr_fields(void* value);
  void null_kptr_fields(void* value) const;

  friend std::shared_ptr<Map> create_map(const MapSpec& spec);

  MapSpec spec_;
  uint32_t value_size_;
  std::vector<uint32_t> kptr_offsets_;  // sorted
  KptrDtor kptr_dtor_ = nullptr;
  uint64_t memory_charge_ = 0;  // create_map's estimate, counted in map_memory_in_use() until destruction
};

// Memory limits (docs/maps.md): what a map holds when full, estimated before anything is
// allocated, may not exceed kMaxMapBytes, nor may the live maps of the process together exceed
// kMaxTotalMapBytes.
inline constexpr uint64_t kMaxMapBytes = uint64_t{4} << 30;
inline constexpr uint64_t kMaxTotalMapBytes = uint64_t{8} << 30;
// The estimates of every live map create_map() built.
uint64_t map_memory_in_use();

// Builds the map a spec describes. Throws bpfq::Error("map 'NAME': reason", "", hint) for an
// unknown type, impossible sizes, a memory limit or an allocation that failed. Maps are shared: map-of-maps hold their inner maps by
// shared_ptr, and a program may re-insert an inner map it holds only as a Map*.
std::shared_ptr<Map> create_map(const MapSpec& spec);

// "HASH", "ARRAY", "RBTREE", …; nullptr for a type bpfq does not implement.
const char* map_type_name(uint32_t type);

}  // namespace bpfq::maps
