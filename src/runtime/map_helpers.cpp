// bpf_map_{lookup,update,delete,push,pop,peek}_elem.
#include <cstring>

#include "helper_support.hpp"
#include "map_registry.hpp"

namespace bpfq::runtime::detail {

using exec::RunContext;

namespace {

const void* ptr(uint64_t p) { return reinterpret_cast<const void*>(p); }
void* mut(uint64_t p) { return reinterpret_cast<void*>(p); }

bool key_ok(const RunContext* rc, const maps::Map& map, uint64_t key) {
  const uint32_t n = map.spec().key_size;
  return n == 0 || readable(rc, key, n);
}

// How many bytes a map's value argument spans: map-of-maps values are Map* (8 bytes).
uint32_t value_bytes(const maps::Map& map) {
  return maps::is_map_of_maps(map.spec().type) ? sizeof(void*) : map.spec().value_size;
}

}  // namespace

uint64_t map_lookup_elem(uint64_t m, uint64_t key, uint64_t, uint64_t, uint64_t) {
  RunContext* rc = RunContext::current();
  maps::Map* map = program_map(m);
  if (!map) return fail(rc, "bpf_map_lookup_elem: map argument is not a map of this program");
  if (!key_ok(rc, *map, key)) return fail(rc, "bpf_map_lookup_elem: key outside program memory");
  void* value = map->lookup(ptr(key));
  if (value == nullptr) return 0;
  if (maps::is_map_of_maps(map->spec().type)) {
    note_inner_map(static_cast<maps::Map*>(value));  // an opaque handle, not memory to touch
  } else if (map->type() == maps::MapType::Pifo) {
    rc->grant(reinterpret_cast<uint64_t>(value), sizeof(uint32_t), false);  // the rank's count
  } else {
    rc->grant(reinterpret_cast<uint64_t>(value), map->spec().value_size, !map->spec().read_only);
  }
  return reinterpret_cast<uint64_t>(value);
}

uint64_t map_update_elem(uint64_t m, uint64_t key, uint64_t value, uint64_t flags, uint64_t) {
  RunContext* rc = RunContext::current();
  maps::Map* map = program_map(m);
  if (!map) return fail(rc, "bpf_map_update_elem: map argument is not a map of this program");
  if (!key_ok(rc, *map, key)) return fail(rc, "bpf_map_update_elem: key outside program memory");
  if (!readable(rc, value, value_bytes(*map)))
    return fail(rc, "bpf_map_update_elem: value outside program memory");
  if (map->spec().read_only) return errno_result(-EPERM);  // .rodata: read-only for programs
  if (maps::is_map_of_maps(map->spec().type)) {
    uint64_t inner;
    std::memcpy(&inner, ptr(value), sizeof inner);
    if (!program_map(inner))
      return fail(rc, "bpf_map_update_elem: value is not a map pointer (map-of-maps)");
  }
  return errno_result(map->update(ptr(key), ptr(value), flags));
}

uint64_t map_delete_elem(uint64_t m, uint64_t key, uint64_t, uint64_t, uint64_t) {
  RunContext* rc = RunContext::current();
  maps::Map* map = program_map(m);
  if (!map) return fail(rc, "bpf_map_delete_elem: map argument is not a map of this program");
  if (!key_ok(rc, *map, key)) return fail(rc, "bpf_map_delete_elem: key outside program memory");
  if (map->spec().read_only) return errno_result(-EPERM);
  return errno_result(map->erase(ptr(key)));
}

uint64_t map_push_elem(uint64_t m, uint64_t value, uint64_t flags, uint64_t, uint64_t) {
  RunContext* rc = RunContext::current();
  maps::Map* map = program_map(m);
  if (!map) return fail(rc, "bpf_map_push_elem: map argument is not a map of this program");
  if (!readable(rc, value, value_bytes(*map)))
    return fail(rc, "bpf_map_push_elem: value outside program memory");
  return errno_result(map->push(ptr(value), flags));
}

namespace {

template <int (maps::Map::*Op)(void*)>
uint64_t take_elem(uint64_t m, uint64_t value, const char* not_a_map, const char* bad_value) {
  RunContext* rc = RunContext::current();
  maps::Map* map = program_map(m);
  if (!map) return fail(rc, not_a_map);
  if (!writable(rc, value, value_bytes(*map))) return fail(rc, bad_value);
  const int err = (map->*Op)(mut(value));
  if (err == 0 && maps::is_map_of_maps(map->spec().type)) {
    maps::Map* inner;
    std::memcpy(&inner, ptr(value), sizeof inner);
    note_inner_map(inner);
  }
  return errno_result(err);
}

}  // namespace

uint64_t map_pop_elem(uint64_t m, uint64_t value, uint64_t, uint64_t, uint64_t) {
  return take_elem<&maps::Map::pop>(m, value,
                                    "bpf_map_pop_elem: map argument is not a map of this program",
                                    "bpf_map_pop_elem: value outside program memory");
}

uint64_t map_peek_elem(uint64_t m, uint64_t value, uint64_t, uint64_t, uint64_t) {
  return take_elem<&maps::Map::peek>(m, value,
                                     "bpf_map_peek_elem: map argument is not a map of this program",
                                     "bpf_map_peek_elem: value outside program memory");
}

}  // namespace bpfq::runtime::detail
