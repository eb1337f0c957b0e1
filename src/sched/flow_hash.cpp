#include <bpfq/sched/flow_hash.hpp>

#include <algorithm>
#include <cstring>

#include <bpfq/sched/flow_dissector.hpp>

namespace bpfq::sched {
namespace {

uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

struct SipState {
  uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  }
  void compress(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

FlowHashKey FlowHashKey::from_perturbation(uint64_t perturbation) {
  uint64_t state = perturbation;
  FlowHashKey key;
  key.k0 = splitmix64(state);
  key.k1 = splitmix64(state);
  return key;
}

uint64_t siphash24(std::span<const uint8_t> m, const FlowHashKey& key) {
  SipState s{key.k0 ^ 0x736F6D6570736575ull, key.k1 ^ 0x646F72616E646F6Dull,
             key.k0 ^ 0x6C7967656E657261ull, key.k1 ^ 0x7465646279746573ull};
  const size_t whole = m.size() / 8 * 8;
  for (size_t i = 0; i < whole; i += 8) s.compress(load_le64(m.data() + i));
  uint64_t last = uint64_t{m.size() & 0xFF} << 56;
  for (size_t i = whole; i < m.size(); ++i) last |= uint64_t{m[i]} << (8 * (i - whole));
  s.compress(last);
  s.v2 ^= 0xFF;
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint32_t flow_hash(const FlowKeys& keys, const FlowHashKey& key, FlowHashDirection direction) {
  const size_t alen = keys.addr_type == AddrType::Ipv6 ? 16 : keys.addr_type == AddrType::Ipv4 ? 4 : 0;
  const uint8_t* src = keys.src.data();
  const uint8_t* dst = keys.dst.data();
  uint16_t sport = keys.sport, dport = keys.dport;
  if (direction == FlowHashDirection::Symmetric) {
    // As __flow_hash_consistentify: the lower endpoint goes first.
    const int diff = alen ? std::memcmp(dst, src, alen) : 0;
    if (diff < 0 || (diff == 0 && dport < sport)) {
      std::swap(src, dst);
      std::swap(sport, dport);
    }
  }
  uint8_t buf[48];
  size_t n = 0;
  auto put8 = [&](uint8_t v) { buf[n++] = v; };
  auto put16 = [&](uint16_t v) { put8(static_cast<uint8_t>(v >> 8)); put8(static_cast<uint8_t>(v)); };
  put16(keys.n_proto);
  put8(keys.ip_proto);
  put8(static_cast<uint8_t>(keys.addr_type));
  put16(keys.vlan_id);
  put16(keys.cvlan_id);
  put16(sport);
  put16(dport);
  put8(keys.icmp_type);
  put8(keys.icmp_code);
  put16(keys.icmp_id);
  std::memcpy(buf + n, src, alen);
  n += alen;
  std::memcpy(buf + n, dst, alen);
  n += alen;
  const auto hash = static_cast<uint32_t>(siphash24({buf, n}, key));
  return hash ? hash : 1;  // 0 means "no hash yet" in skb->hash
}

}  // namespace bpfq::sched
