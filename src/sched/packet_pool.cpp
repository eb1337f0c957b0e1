#include <bpfq/sched/packet_pool.hpp>

#include <atomic>
#include <bit>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include <bpfq/error.hpp>

#include "asan_poison.hpp"
#include "low_memory.hpp"

namespace bpfq::sched {
namespace {

constexpr size_t kCacheLine = 64;
constexpr size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

std::atomic<uint64_t> g_leaked{0};

}  // namespace

PacketPool::PacketPool(const PacketPoolConfig& config) : config_(config) {
  if (config.packets == 0)
    throw Error("packet pool with 0 packets", "PacketPool", "set packets to at least 1");
  if (config.data_room < 64)
    throw Error("packet data_room " + std::to_string(config.data_room) + " is below 64 bytes",
                "PacketPool", "a frame needs room for its headers; the default is 2048");
  packet_stride_ = std::bit_ceil(round_up(sizeof(Packet), kCacheLine));
  stride_shift_ = std::countr_zero(packet_stride_);
  buffer_stride_ = round_up(size_t{config.headroom} + config.data_room, kCacheLine);
  const size_t size = round_up(config.packets * (packet_stride_ + buffer_stride_), 4096);
  base_ = reinterpret_cast<uintptr_t>(map_low_memory(size, config.strategy));
  mapping_size_ = size;
  buffers_ = base_ + config.packets * packet_stride_;
  poison_bytes(reinterpret_cast<void*>(buffers_), config.packets * buffer_stride_);
}

// Packets are built on first use, in address order: a pool sized for the worst case touches
// only the memory a run needs (building all 16384 of a simulation's took a tenth of a short run,
// most of it page faults). Released packets go first, as a free list built up front gave them.
Packet* PacketPool::fresh() {
  if (constructed_ == config_.packets) return nullptr;
  const uint32_t i = constructed_++;
  auto* pkt = new (reinterpret_cast<void*>(base_ + i * packet_stride_)) Packet;
  pkt->pool = this;
  pkt->head = reinterpret_cast<uint8_t*>(buffers_ + i * buffer_stride_);
  pkt->buffer_size = static_cast<uint32_t>(buffer_stride_);
  return pkt;
}

PacketPool::~PacketPool() {
  if (counters_.in_use != 0) {
    std::fprintf(stderr, "bpfq: PacketPool destroyed with %u packets still referenced (leak)\n",
                 counters_.in_use);
    g_leaked += counters_.in_use;
    assert(counters_.in_use == 0 && "PacketPool destroyed with packets still referenced");
  }
  unpoison_bytes(reinterpret_cast<void*>(buffers_), config_.packets * buffer_stride_);
  unmap_low_memory(reinterpret_cast<void*>(base_), mapping_size_);
}

uint64_t PacketPool::leaked_at_destruction() { return g_leaked.load(); }

Packet* PacketPool::alloc() {
  Packet* pkt = free_;
  if (pkt) {
    free_ = pkt->next;
  } else if (!(pkt = fresh())) {
    ++counters_.alloc_failures;
    return nullptr;
  }
  pkt->next = nullptr;
  pkt->refcount = 1;
  pkt->queued_in = nullptr;
  pkt->enqueue_ns = pkt->created_ns = 0;
  pkt->offload = {};
  std::memset(&pkt->skb, 0, sizeof(pkt->skb));
  pkt->kernel = {};
  unpoison_bytes(pkt->head, pkt->buffer_size);
  uint8_t* data = pkt->head + config_.headroom;
  pkt->skb.data = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
  pkt->skb.data_end = pkt->skb.data;
  pkt->skb.data_meta = pkt->skb.data;  // no metadata area in front of the frame
  ++counters_.allocated;
  if (++counters_.in_use > counters_.high_water) counters_.high_water = counters_.in_use;
  return pkt;
}

void PacketPool::release(Packet* pkt) {
  if (!pkt) return;
  if (pkt->refcount == 0) {  // double release: a caller bug; never corrupt the free list
    assert(!"release of a packet that is already free");
    ++pkt->pool->counters_.bad_releases;
    return;
  }
  if (--pkt->refcount == 0) pkt->pool->give_back(pkt);
}

void PacketPool::give_back(Packet* pkt) {
  assert(pkt->next == nullptr && "a packet released while still linked in a queue");
  poison_bytes(pkt->head, pkt->buffer_size);
  pkt->next = free_;
  free_ = pkt;
  --counters_.in_use;
  ++counters_.freed;
}

}  // namespace bpfq::sched
