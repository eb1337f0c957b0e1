#pragma once
// bpfq's kernel, as programs of Linux's struct_ops qdisc API see it: the BTF that CO-RE
// relocations resolve against (kernel_btf()), and the C++ mirror of every struct it describes.
// The source of truth for the layout is src/sched/kernel/kernel_types.bpf.c; tests check that
// every offset below matches its BTF.
//
// struct sk_buff is a Packet (its __sk_buff, then Packet::KernelFields); struct Qdisc, struct
// netdev_queue and struct net_device are KernelQdisc, which a StructOpsQdisc owns.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <bpfq/sched/packet.hpp>

namespace bpfq::sched {

// The raw .BTF of bpfq's kernel types (built into the library).
std::span<const uint8_t> kernel_btf();

// struct sk_buff: offsets of the fields bpfq's BTF declares.
namespace kernel_skb {
inline constexpr uint32_t kTstamp = offsetof(Packet, skb.tstamp);
inline constexpr uint32_t kCb = offsetof(Packet, kernel.cb);
inline constexpr uint32_t kCbDataOffset = 8;  // qdisc_skb_cb.data, after pkt_len and two u16s
inline constexpr uint32_t kCbDataSize = 20;   // QDISC_CB_PRIV_LEN
inline constexpr uint32_t kSize = offsetof(Packet, kernel) + sizeof(Packet::KernelFields);
static_assert(offsetof(Packet, kernel) == sizeof(struct __sk_buff), "struct sk_buff's cb follows __sk_buff");

// qdisc_pkt_len_init: the stack clears the cb and sets qdisc_skb_cb.pkt_len before the root
// qdisc sees a packet.
inline void init_qdisc_cb(Packet& pkt) {
  std::memset(pkt.kernel.cb, 0, sizeof pkt.kernel.cb);
  const uint32_t pkt_len = pkt.qdisc_len();
  std::memcpy(pkt.kernel.cb, &pkt_len, sizeof pkt_len);
}
}  // namespace kernel_skb

struct KernelNetDevice {  // struct net_device
  char name[16];
  int32_t ifindex;
  uint32_t mtu;
  uint16_t hard_header_len;
  uint16_t pad0;
  uint32_t tx_queue_len;
};

struct KernelNetdevQueue {  // struct netdev_queue
  uint64_t dev;             // struct net_device *
};

struct KernelQdisc {  // struct Qdisc
  uint32_t flags;
  uint32_t limit;  // writable
  uint64_t ops;
  uint32_t handle;
  uint32_t parent;
  uint64_t dev_queue;  // struct netdev_queue *
  struct {             // struct gnet_stats_queue: writable
    uint32_t qlen, backlog, drops, requeues, overlimits;
  } qstats;
  uint32_t pad0;
  struct {  // struct qdisc_skb_head
    uint64_t head, tail;
    uint32_t qlen;  // writable
    uint32_t lock;
  } q;
};
static_assert(sizeof(KernelQdisc) == 80);

}  // namespace bpfq::sched
