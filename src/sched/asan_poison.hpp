#pragma once
// Marks the byte buffers of free packets unaddressable under AddressSanitizer, so a use after
// release is reported (pool memory comes from mmap, which ASan does not track by itself).
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define BPFQ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BPFQ_ASAN 1
#endif
#endif

#ifdef BPFQ_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace bpfq::sched {

inline void poison_bytes(const void* p, size_t n) {
#ifdef BPFQ_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}

inline void unpoison_bytes(const void* p, size_t n) {
#ifdef BPFQ_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}

}  // namespace bpfq::sched
