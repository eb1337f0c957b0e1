#pragma once
// Anonymous memory whose every address fits in 32 bits (docs/packets.md).
#include <cstddef>

#include <bpfq/sched/packet_pool.hpp>

namespace bpfq::sched {

// Returns a zeroed read-write mapping of size bytes ending below 4 GiB; throws bpfq::Error.
void* map_low_memory(size_t size, LowMemoryStrategy strategy);
void unmap_low_memory(void* base, size_t size);

}  // namespace bpfq::sched
