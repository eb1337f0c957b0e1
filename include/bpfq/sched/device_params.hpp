#pragma once
// The properties of the device a qdisc sits on that Linux qdiscs take their defaults from.
#include <cstdint>

namespace bpfq::sched {

struct DeviceParams {
  uint32_t tx_queue_len = 1000;   // `ip link ... txqueuelen`
  uint32_t mtu = 1500;
  uint32_t hard_header_len = 14;  // Ethernet
  // `ip link ... numtxqueues N`: the device's TX queues (real_num_tx_queues). A multi-queue
  // root (mq, mqprio) gets one child qdisc per queue; tx_queues.hpp picks a packet's queue.
  uint32_t num_tx_queues = 1;

  // psched_mtu(): the largest frame the device sends, link-layer header included.
  uint32_t psched_mtu() const { return mtu + hard_header_len; }
};

}  // namespace bpfq::sched
