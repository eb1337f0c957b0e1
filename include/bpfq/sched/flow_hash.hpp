#pragma once
// The flow hash of skb_get_hash(): SipHash-2-4 over the dissected flow keys, keyed by a
// perturbation, truncated to 32 bits, 0 remapped to 1.
//
// Linux orders the endpoints before hashing (__flow_hash_consistentify: the lower address, or on
// equal addresses the lower port, counts as the source), so both directions of a connection get
// the same hash. FlowHashDirection::Symmetric does the same and is the default; Directional
// hashes the keys as seen, for callers that want the two directions apart.
#include <cstdint>
#include <span>

namespace bpfq::sched {

struct FlowKeys;

struct FlowHashKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
  // Expands a perturbation value into a 128-bit SipHash key (splitmix64 steps).
  static FlowHashKey from_perturbation(uint64_t perturbation);
  bool operator==(const FlowHashKey&) const = default;
};

enum class FlowHashDirection : uint8_t { Symmetric, Directional };

// SipHash-2-4 (Aumasson & Bernstein), 64-bit output.
uint64_t siphash24(std::span<const uint8_t> message, const FlowHashKey& key);

// reciprocal_scale(): maps a u32 (a flow hash) uniformly onto [0, n) with a multiply and a
// shift, as Linux does to pick a bucket (fq_codel) or a TX queue (skb_tx_hash).
inline uint32_t reciprocal_scale(uint32_t value, uint32_t n) {
  return static_cast<uint32_t>((uint64_t{value} * n) >> 32);
}

// Never returns 0.
uint32_t flow_hash(const FlowKeys& keys, const FlowHashKey& key,
                   FlowHashDirection direction = FlowHashDirection::Symmetric);

}  // namespace bpfq::sched
