#pragma once
// A device's TX queues and how a packet picks one: Linux's netdev_pick_tx without a socket or
// XPS, i.e. skb_tx_hash(). The only place that maps a packet to a TX queue; mq and mqprio
// (mq_qdisc.hpp) use it, and so will the live datapath when it runs one queue per core.
//
//   without traffic classes (mq):  queue = reciprocal_scale(skb_get_hash, num_tx_queues)
//   with them (mqprio):            tc    = prio_tc_map[skb->priority & 15]
//                                  queue = offset[tc] + reciprocal_scale(skb_get_hash, count[tc])
//
// Linux first honours a recorded RX queue (forwarded packets keep theirs) and a socket's cached
// queue; bpfq's packets carry neither, so the flow hash always decides.
#include <array>
#include <cstdint>
#include <string>

#include <bpfq/sched/packet.hpp>

namespace bpfq::sched {

inline constexpr uint32_t kMaxTrafficClasses = 16;  // TC_MAX_QUEUE
inline constexpr uint32_t kMaxTxQueues = 4096;      // what `numtxqueues` accepts

// One traffic class's queues: count@offset (struct netdev_tc_txq).
struct TxQueueRange {
  uint16_t count = 0;
  uint16_t offset = 0;
  bool operator==(const TxQueueRange&) const = default;
};

struct TxQueueMap {
  uint32_t num_tx_queues = 1;
  uint32_t num_tc = 0;  // 0: no traffic classes, every packet hashes over all queues
  std::array<uint8_t, 16> prio_tc_map{};  // skb->priority & TC_BITMASK -> traffic class
  std::array<TxQueueRange, kMaxTrafficClasses> tc_to_txq{};

  // n queues, no traffic classes (mq).
  static TxQueueMap plain(uint32_t n) {
    TxQueueMap m;
    m.num_tx_queues = n;
    return m;
  }
  // mqprio's checks (mqprio_validate_qopt, software mode): num_tc 1..16, every map entry below
  // num_tc, every class at least one queue, inside the device's queues, no two overlapping.
  // Returns "" when valid, else what is wrong ("TC 1 queues 2@3 exceed the 4 TX queues").
  std::string invalid() const;

  // The traffic class of a priority (netdev_get_prio_tc_map); 0 without classes.
  uint32_t tc_of(uint32_t priority) const { return num_tc ? prio_tc_map[priority & 15u] : 0; }
  // The queues a priority's packets spread over.
  TxQueueRange range_of(uint32_t priority) const {
    if (num_tc == 0) return {static_cast<uint16_t>(num_tx_queues), 0};
    const TxQueueRange r = tc_to_txq[tc_of(priority)];
    // Linux falls back to every queue when a class has none (validation prevents it here).
    return r.count ? r : TxQueueRange{static_cast<uint16_t>(num_tx_queues), 0};
  }
  // skb_tx_hash(): the queue of a packet with this flow hash and priority, 0-based.
  uint32_t pick(uint32_t hash, uint32_t priority) const;
  // The same for a packet (computes and caches its flow hash).
  uint32_t pick(Packet& pkt) const { return pick(pkt.get_hash(), pkt.skb.priority); }
};

}  // namespace bpfq::sched
