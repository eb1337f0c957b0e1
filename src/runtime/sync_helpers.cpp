// bpf_spin_lock/bpf_spin_unlock and bpf_kptr_xchg: atomics on fields of map values.
#include <atomic>

#include "helper_support.hpp"

namespace bpfq::runtime::detail {

using exec::RunContext;

namespace {

// The lock word holds its owner: a nonzero id per thread, so that a program taking a lock its
// thread already holds (a deadlock in the kernel, which the verifier prevents) fails instead.
uint32_t thread_token() {
  static std::atomic<uint32_t> next{1};
  thread_local const uint32_t token = next.fetch_add(1, std::memory_order_relaxed);
  return token;
}

}  // namespace

uint64_t spin_lock(uint64_t lock, uint64_t, uint64_t, uint64_t, uint64_t) {
  RunContext* rc = RunContext::current();
  if (lock == 0 || lock % 4 != 0 || !writable(rc, lock, 4))
    return fail(rc, "bpf_spin_lock: lock outside writable program memory or misaligned");
  auto* word = reinterpret_cast<uint32_t*>(lock);
  const uint32_t me = thread_token();
  if (__atomic_load_n(word, __ATOMIC_RELAXED) == me)
    return fail(rc, "bpf_spin_lock: this program already holds the lock");
  // Bounded: another thread holds a lock for a few instructions, so a word that stays set is
  // one a program wrote itself (its bytes are program memory) or left held by a faulting run.
  constexpr uint64_t kMaxSpins = uint64_t{1} << 24;
  for (uint64_t spins = 0;;) {
    uint32_t expected = 0;
    if (__atomic_compare_exchange_n(word, &expected, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return 0;
    while (__atomic_load_n(word, __ATOMIC_RELAXED) != 0) {
      if (++spins == kMaxSpins) return fail(rc, "bpf_spin_lock: the lock stays taken (its word was overwritten?)");
      __builtin_ia32_pause();
    }
  }
}

uint64_t spin_unlock(uint64_t lock, uint64_t, uint64_t, uint64_t, uint64_t) {
  RunContext* rc = RunContext::current();
  if (lock == 0 || lock % 4 != 0 || !writable(rc, lock, 4))
    return fail(rc, "bpf_spin_unlock: lock outside writable program memory or misaligned");
  auto* word = reinterpret_cast<uint32_t*>(lock);
  if (__atomic_load_n(word, __ATOMIC_RELAXED) != thread_token())
    return fail(rc, "bpf_spin_unlock: lock is not held by this program");
  __atomic_store_n(word, 0u, __ATOMIC_RELEASE);
  return 0;
}

uint64_t kptr_xchg(uint64_t field, uint64_t ptr, uint64_t, uint64_t, uint64_t) {
  RunContext* rc = RunContext::current();
  if (field % 8 != 0 || !writable(rc, field, 8))
    return fail(rc, "bpf_kptr_xchg: kptr field outside writable program memory or misaligned");
  return __atomic_exchange_n(reinterpret_cast<uint64_t*>(field), ptr, __ATOMIC_SEQ_CST);
}

}  // namespace bpfq::runtime::detail
