#pragma once
// The properties of the device a qdisc sits on that Linux qdiscs take their defaults from.
#include <cstdint>

namespace bpfq::sched {

struct DeviceParams {
  uint32_t tx_queue_len = 1000;   // `ip link ... txqueuelen`
  uint32_t mtu = 1500;
  uint32_t hard_header_len = 14;  // Ethernet

  // psched_mtu(): the largest frame the device sends, link-layer header included.
  uint32_t psched_mtu() const { return mtu + hard_header_len; }
};

}  // namespace bpfq::sched
