#pragma once
// Which flow handed a packet to the bottleneck, by the packet's address: for traffic whose bytes
// do not name a simulated flow (pcap replay). A fixed open-addressing table sized for the pool:
// entries are overwritten when a packet is reused and never removed, so it never grows and a
// lookup or update allocates nothing.
#include <bit>
#include <cstdint>
#include <vector>

#include <bpfq/sched/packet.hpp>

namespace bpfq::io::sim {

class PacketOwners {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // pool_packets bounds the distinct packets ever stored.
  explicit PacketOwners(uint32_t pool_packets)
      : slots_(std::bit_ceil(uint64_t{pool_packets} * 2)), mask_(slots_.size() - 1) {}

  void set(const sched::Packet* pkt, uint32_t owner) { slot(pkt).owner = owner; }
  uint32_t get(const sched::Packet* pkt) const {
    for (size_t i = index(pkt);; i = (i + 1) & mask_) {
      if (slots_[i].pkt == pkt) return slots_[i].owner;
      if (slots_[i].pkt == nullptr) return kNone;
    }
  }

 private:
  struct Slot {
    const sched::Packet* pkt = nullptr;
    uint32_t owner = kNone;
  };
  size_t index(const sched::Packet* pkt) const {
    return static_cast<size_t>((reinterpret_cast<uintptr_t>(pkt) >> 6) * 0x9E3779B97F4A7C15ull >> 20) & mask_;
  }
  // At most pool_packets keys in twice as many slots: a probe always ends.
  Slot& slot(const sched::Packet* pkt) {
    size_t i = index(pkt);
    while (slots_[i].pkt != pkt && slots_[i].pkt != nullptr) i = (i + 1) & mask_;
    slots_[i].pkt = pkt;
    return slots_[i];
  }

  std::vector<Slot> slots_;
  size_t mask_;
};

}  // namespace bpfq::io::sim
