#include "low_memory.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <bpfq/error.hpp>

namespace bpfq::sched {
namespace {

constexpr uint64_t k4GiB = uint64_t{1} << 32;

bool fits_32bit(const void* base, size_t size) {
  return reinterpret_cast<uintptr_t>(base) + size <= k4GiB;
}

void* try_map_32bit(size_t size) {
#if defined(__x86_64__) && defined(MAP_32BIT)
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  if (!fits_32bit(p, size)) {  // cannot happen with MAP_32BIT, but the fields must hold
    munmap(p, size);
    return nullptr;
  }
  return p;
#else
  (void)size;
  return nullptr;
#endif
}

// Walks hint addresses from 256 MiB upward in steps of the size; the kernel refuses occupied
// ranges with EEXIST (kernels before 4.17 ignore the flag and may place the mapping elsewhere,
// which the address check catches).
void* try_map_fixed_noreplace(size_t size) {
#ifdef MAP_FIXED_NOREPLACE
  const uint64_t step = (size + 0xFFFFF) & ~uint64_t{0xFFFFF};  // 1 MiB granularity
  for (uint64_t hint = uint64_t{1} << 28; hint + size <= k4GiB; hint += step) {
    void* want = reinterpret_cast<void*>(hint);
    void* p = mmap(want, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) {
      if (errno == EEXIST || errno == EPERM) continue;
      return nullptr;
    }
    if (p == want) return p;
    munmap(p, size);
  }
#else
  (void)size;
#endif
  return nullptr;
}

}  // namespace

void* map_low_memory(size_t size, LowMemoryStrategy strategy) {
  if (size == 0 || size > (uint64_t{1} << 31))
    throw Error("packet pool of " + std::to_string(size) + " bytes cannot be mapped below 4 GiB",
                "PacketPool", "use fewer packets or a smaller data_room (at most 2 GiB in all)");
  void* p = nullptr;
  if (strategy == LowMemoryStrategy::Auto || strategy == LowMemoryStrategy::Map32Bit)
    p = try_map_32bit(size);
  if (!p && (strategy == LowMemoryStrategy::Auto || strategy == LowMemoryStrategy::FixedNoReplace))
    p = try_map_fixed_noreplace(size);
  if (!p)
    throw Error("cannot map " + std::to_string(size) + " bytes of packet memory below 4 GiB (" +
                    std::strerror(errno) + ")",
                "PacketPool",
                "__sk_buff.data/data_end are 32-bit fields holding real addresses, so packets must "
                "live in the low 4 GiB: this needs x86-64 MAP_32BIT or a kernel with "
                "MAP_FIXED_NOREPLACE (4.17+) and free low address space; check vm.mmap_min_addr "
                "and memory limits, or make the pool smaller");
  return p;
}

void unmap_low_memory(void* base, size_t size) {
  if (base) munmap(base, size);
}

}  // namespace bpfq::sched
