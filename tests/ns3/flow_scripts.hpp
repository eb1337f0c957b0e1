#pragma once
// Scripts for the flow-queueing qdiscs (fq_codel, fq_pie): source ports that land each flow in
// its own bucket on both sides, and heavy flows kept backlogged beside sparse ones.
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <bpfq/sched/packet_pool.hpp>

#include "bpfq_player.hpp"
#include "ns3_oracle.hpp"
#include "script.hpp"

namespace bpfq::ns3diff::test {

// n source ports for a flow-queueing qdisc of `flows` buckets: distinct ns-3 buckets, and flow k's
// bpfq bucket (reciprocal_scale of the skb hash, as Linux) in the k-th n-th of the range, so that
// both sides number the flows alike (ns-3 by first arrival, Linux by bucket).
inline std::vector<uint16_t> pick_flow_ports(sched::PacketPool& pool, uint32_t flows, size_t n) {
  std::vector<uint16_t> ports;
  std::vector<uint32_t> ns3_buckets;
  for (size_t k = 0; k < n; ++k) {
    for (uint16_t port = 1000;; ++port) {
      PacketSpec spec;
      spec.sport = port;
      sched::Packet* pkt = build_packet(pool, spec);
      uint32_t bucket = static_cast<uint32_t>((uint64_t{pkt->get_hash()} * flows) >> 32);
      sched::PacketPool::release(pkt);
      uint32_t ns3_bucket = ns3_flow_hash(spec, 0) % flows;
      bool in_slice = bucket >= k * flows / n && bucket < (k + 1) * flows / n;
      if (in_slice && std::find(ns3_buckets.begin(), ns3_buckets.end(), ns3_bucket) == ns3_buckets.end()) {
        ports.push_back(port);
        ns3_buckets.push_back(ns3_bucket);
        break;
      }
    }
  }
  return ports;
}

// The first `heavy` flows share heavy arrivals (faster than the dequeues, from the start); the
// rest are sparse and start once the heavy ones have used their first quantum (so they sit in
// the old list from then on). Times are multiples of `unit` ns.
inline Script heavy_and_sparse(uint64_t seed, const std::vector<uint16_t>& ports, uint64_t unit, uint32_t packets,
                               bool ect, size_t heavy = 1) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  std::vector<Op> ops;
  uint32_t id = 0;
  auto arrival = [&](uint64_t t, uint16_t port, uint32_t len) {
    PacketSpec p;
    p.id = ++id;
    p.sport = port;
    p.frame_len = len;
    if (ect) p.ecn = uniform(0, 3) == 0 ? 0 : 2;  // mostly ECT(0), some Not-ECT
    ops.push_back(Op{t, Op::Kind::Enqueue, p});
  };
  uint64_t t = 1000 * unit;
  for (uint32_t i = 0; i < packets; ++i) {
    // The heavy flows start with a burst, so none of them runs empty while the old list is
    // empty (ns-3 then moves it to the old list, Linux drops it from the lists; see the docs).
    if (i >= 8 * heavy) t += uniform(40, 110) * unit;
    arrival(t, ports[i % heavy], static_cast<uint32_t>(uniform(500, 1514)));
  }
  const uint64_t end = t;
  for (size_t f = heavy; f < ports.size(); ++f) {
    for (uint64_t ts = (8000 + 100 * f) * unit; ts < end; ts += uniform(500, 4000) * unit)
      arrival(ts, ports[f], static_cast<uint32_t>(uniform(64, 300)));
  }
  for (uint64_t td = 1050 * unit; td < end + 400 * 100 * unit; td += 100 * unit)
    ops.push_back(Op{td, Op::Kind::Dequeue, {}});
  // Time order; at equal times arrivals first (stable sort keeps the order they were made in,
  // and both players run equal-time ops in script order).
  std::stable_sort(ops.begin(), ops.end(), [](const Op& a, const Op& b) {
    if (a.time_ns != b.time_ns) return a.time_ns < b.time_ns;
    return a.kind == Op::Kind::Enqueue && b.kind != Op::Kind::Enqueue;
  });
  return ops;
}

}  // namespace bpfq::ns3diff::test
