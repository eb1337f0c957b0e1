#pragma once
// PacketPool: a fixed set of packets (metadata + byte buffers) in one mapping below 4 GiB, so
// __sk_buff.data/data_end hold real addresses (docs/packets.md). No allocation per packet.
//
// References are counted exactly as the seed's kfuncs expect: alloc() hands out one reference,
// acquire() adds one (bpf_skb_acquire), release() drops one (bpf_skb_release, kfree_skb) and
// the last release returns the packet to its pool. alloc/acquire/release never throw.
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include <bpfq/sched/flow_hash.hpp>
#include <bpfq/sched/packet.hpp>
#include <bpfq/sched/qdisc_stats.hpp>

namespace bpfq::sched {

// How the pool obtains memory whose addresses fit the 32-bit data/data_end fields.
enum class LowMemoryStrategy : uint8_t {
  Auto,            // MAP_32BIT (x86-64), then FixedNoReplace
  Map32Bit,        // mmap(MAP_32BIT): the low 2 GiB
  FixedNoReplace,  // mmap(MAP_FIXED_NOREPLACE) at hints below 4 GiB
};

struct PacketPoolConfig {
  uint32_t packets = 4096;    // capacity of the pool
  uint32_t data_room = 2048;  // frame bytes each packet can hold (no jumbo/GSO frames)
  uint32_t headroom = 256;    // bytes in front of the frame (XDP_PACKET_HEADROOM), to prepend headers
  LowMemoryStrategy strategy = LowMemoryStrategy::Auto;
};

// Told of every drop of a packet of the pool, with its reason, before the qdisc releases its
// reference: an embedder that maps packets to its own (ns-3's QueueDiscItems) learns which of
// them a qdisc dropped, also packets dropped while another was offered or dequeued.
class DropListener {
 public:
  virtual void on_drop(Packet& pkt, DropReason reason) = 0;

 protected:
  ~DropListener() = default;
};

struct PacketPoolCounters {
  uint64_t allocated = 0;       // successful alloc() calls
  uint64_t alloc_failures = 0;  // alloc() calls that found the pool exhausted
  uint64_t freed = 0;           // packets returned to the pool (last reference released)
  uint64_t bad_releases = 0;    // release() of a free packet (a bug in the caller; ignored)
  uint32_t in_use = 0;          // packets with refcount > 0
  uint32_t high_water = 0;      // the largest in_use seen
};

class PacketPool {
 public:
  // Throws bpfq::Error if the configuration is invalid or no low memory can be mapped.
  explicit PacketPool(const PacketPoolConfig& config = {});
  // Packets still referenced here are a bug: asserts in debug builds; in release builds prints
  // the count to stderr and adds it to leaked_at_destruction().
  ~PacketPool();
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  // A packet with refcount 1, zeroed __sk_buff, len 0 and the configured headroom; nullptr when
  // the pool is exhausted.
  Packet* alloc();
  // One more reference; returns pkt (bpf_skb_acquire).
  static Packet* acquire(Packet* pkt) {
    ++pkt->refcount;
    return pkt;
  }
  // One reference less; the last one returns the packet to its pool. nullptr is ignored.
  static void release(Packet* pkt);
  // release() with the signature of maps::KptrDtor, for packet references held in map values.
  static void release_kptr(void* pkt) { release(static_cast<Packet*>(pkt)); }

  // The Packet whose __sk_buff starts exactly at p if p is one of this pool's packets (free or
  // not; one never handed out yet is not one), else nullptr: validates a pointer a program hands
  // back.
  Packet* packet_at(const void* p) const {  // inline: every kfunc call asks
    const auto a = reinterpret_cast<uintptr_t>(p);
    if (a < base_ || a >= base_ + constructed_ * packet_stride_) return nullptr;
    if (((a - base_) & (packet_stride_ - 1)) != 0) return nullptr;
    return reinterpret_cast<Packet*>(a);
  }
  // Every packet handed out so far, free or not.
  template <typename F>
  void for_each_built(F&& f) {
    for (uint32_t i = 0; i < constructed_; ++i) f(*reinterpret_cast<Packet*>(base_ + i * packet_stride_));
  }
  bool owns(const void* p) const {
    auto a = reinterpret_cast<uintptr_t>(p);
    return a >= base_ && a < base_ + mapping_size_;
  }

  uint32_t capacity() const { return config_.packets; }
  const PacketPoolConfig& config() const { return config_; }
  const PacketPoolCounters& counters() const { return counters_; }
  uint32_t in_use() const { return counters_.in_use; }
  uint32_t available() const { return config_.packets - counters_.in_use; }
  // The whole mapping (metadata and buffers), e.g. to declare it to a checked interpreter.
  std::span<const std::byte> mapping() const {
    return {reinterpret_cast<const std::byte*>(base_), mapping_size_};
  }

  // The key of skb_get_hash(); Packet::get_hash() uses it. Changing it does not rehash packets
  // that already cached a hash (as in Linux, the hash is computed once per packet).
  void set_hash_perturbation(uint64_t perturbation) { hash_key_ = FlowHashKey::from_perturbation(perturbation); }
  const FlowHashKey& hash_key() const { return hash_key_; }

  // The packet's slot, 0 .. capacity()-1: an index for tables beside the pool.
  uint32_t index_of(const Packet* pkt) const {
    return static_cast<uint32_t>((reinterpret_cast<uintptr_t>(pkt) - base_) >> stride_shift_);
  }

  // Who is told of drops (Qdisc::drop and the references a bpf qdisc loses); null: nobody.
  void set_drop_listener(DropListener* listener) { drop_listener_ = listener; }
  void note_drop(Packet& pkt, DropReason reason) const {
    if (drop_listener_) drop_listener_->on_drop(pkt, reason);
  }

  // Packets found still referenced by destroyed pools, process-wide.
  static uint64_t leaked_at_destruction();

 private:
  void give_back(Packet* pkt);
  Packet* fresh();  // the next packet never handed out, built; nullptr when all were

  PacketPoolConfig config_;
  PacketPoolCounters counters_;
  FlowHashKey hash_key_ = FlowHashKey::from_perturbation(0);
  uintptr_t base_ = 0;
  size_t mapping_size_ = 0;
  // sizeof(Packet) rounded to a power of two: finding a packet from a pointer (on every kfunc
  // call) is then a mask and a shift, not a division.
  size_t packet_stride_ = 0;
  int stride_shift_ = 0;
  size_t buffer_stride_ = 0;  // headroom + data_room rounded to a cache line
  uintptr_t buffers_ = 0;     // first byte buffer
  Packet* free_ = nullptr;    // free list through Packet::next
  uint32_t constructed_ = 0;  // packets 0 .. constructed_-1 were built (by fresh())
  DropListener* drop_listener_ = nullptr;
};

// A move-only owner of one packet reference, for C++ callers.
class PacketRef {
 public:
  PacketRef() = default;
  // Takes over a reference the caller already holds (e.g. from alloc()).
  static PacketRef adopt(Packet* pkt) { return PacketRef(pkt); }
  // Takes a new reference of its own.
  static PacketRef share(Packet* pkt) { return PacketRef(pkt ? PacketPool::acquire(pkt) : nullptr); }
  static PacketRef alloc(PacketPool& pool) { return PacketRef(pool.alloc()); }

  PacketRef(PacketRef&& other) noexcept : pkt_(std::exchange(other.pkt_, nullptr)) {}
  PacketRef& operator=(PacketRef&& other) noexcept {
    if (this != &other) {
      reset();
      pkt_ = std::exchange(other.pkt_, nullptr);
    }
    return *this;
  }
  PacketRef(const PacketRef&) = delete;
  PacketRef& operator=(const PacketRef&) = delete;
  ~PacketRef() { reset(); }

  Packet* get() const { return pkt_; }
  Packet* operator->() const { return pkt_; }
  Packet& operator*() const { return *pkt_; }
  explicit operator bool() const { return pkt_ != nullptr; }
  // Gives the reference away (to a qdisc, a map) without releasing it.
  Packet* detach() { return std::exchange(pkt_, nullptr); }
  void reset() { PacketPool::release(std::exchange(pkt_, nullptr)); }

 private:
  explicit PacketRef(Packet* pkt) : pkt_(pkt) {}
  Packet* pkt_ = nullptr;
};

}  // namespace bpfq::sched
