#pragma once
// A packet: real frame bytes (Ethernet first) plus the metadata of Linux's struct __sk_buff.
//
// The first member is the uapi `struct __sk_buff`, so the `struct __sk_buff *` an eBPF program
// receives is the Packet's address. Packets live in a PacketPool mapped below 4 GiB, so the
// 32-bit skb.data / skb.data_end fields hold the real addresses of the bytes and a program's
// `(void *)(long)skb->data` works unmodified (docs/packets.md).
//
// skb.len, skb.data, skb.data_end and skb.wire_len are kept consistent by assign()/
// frame_written()/set_len():
// never write them directly. Every other skb field is plain metadata, free to read and write.
#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace bpfq::sched {

class PacketPool;
class Qdisc;

struct Packet {
  struct __sk_buff skb;  // FIRST member: programs see the packet through it.
  // Right after it, the fields of Linux's struct sk_buff that __sk_buff lacks, for programs of
  // Linux's struct_ops API: bpfq's kernel BTF (src/sched/kernel/kernel_types.bpf.c) lays out
  // its struct sk_buff over skb and these (kernel_view.hpp).
  struct KernelFields {
    uint8_t cb[48];     // struct qdisc_skb_cb: pkt_len (set on enqueue), then the qdisc's data
    uint64_t sk;        // struct sock *: bpfq's packets have no socket, always 0
    uint32_t data_len;  // non-linear bytes: always 0
    uint16_t mac_len;
    uint16_t hdr_len;
  } kernel;

  // ---- bookkeeping outside __sk_buff (programs never see it) ----
  PacketPool* pool;      // the owner; release() returns the packet there
  uint8_t* head;         // start of the byte buffer (headroom, then data)
  uint32_t buffer_size;  // bytes from head to the end of the buffer
  uint32_t refcount;     // 0 while free in the pool
  Packet* next;          // intrusive link of the one PacketQueue holding it (or the free list)
  Qdisc* queued_in;      // the qdisc accounting for it while a program keeps it in a map (BpfQdisc)
  uint64_t enqueue_ns;   // when it entered its current qdisc (set by the qdisc)
  uint64_t created_ns;   // when the datapath created/received it (set by the datapath)
  // GSO and checksum offload of a frame a live port received with a virtio_net_hdr: the port
  // that sends it hands them back to the kernel, which segments and checksums. All zero for a
  // plain frame (everything the simulator builds).
  struct Offload {
    uint8_t flags;         // VIRTIO_NET_HDR_F_*
    uint8_t gso_type;      // VIRTIO_NET_HDR_GSO_*
    uint16_t hdr_len;      // Ethernet + IP + L4 header bytes repeated in every segment
    uint16_t gso_size;     // payload bytes per segment
    uint16_t csum_start;   // where the checksum computation starts (from the Ethernet header)
    uint16_t csum_offset;  // where the checksum goes (from csum_start)
  } offload;

  Packet() = default;
  Packet(const Packet&) = delete;
  Packet& operator=(const Packet&) = delete;

  // The eBPF view and back: a program's `struct __sk_buff *` is a Packet*.
  static Packet* from_skb(struct __sk_buff* skb) { return reinterpret_cast<Packet*>(skb); }
  static const Packet* from_skb(const struct __sk_buff* skb) {
    return reinterpret_cast<const Packet*>(skb);
  }

  uint8_t* data() const { return reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(skb.data)); }
  uint8_t* data_end() const { return data() + skb.len; }
  uint32_t len() const { return skb.len; }
  std::span<uint8_t> bytes() { return {data(), skb.len}; }
  std::span<const uint8_t> bytes() const { return {data(), skb.len}; }

  // Bytes in front of data() (room to prepend headers) and after data_end() (room to grow).
  uint32_t headroom() const { return static_cast<uint32_t>(data() - head); }
  uint32_t tailroom() const { return buffer_size - headroom() - skb.len; }
  // The largest len this packet can hold with its current headroom.
  uint32_t max_len() const { return buffer_size - headroom(); }

  // Sets len (and wire_len, data_end); false, nothing changed, if it exceeds max_len().
  bool set_len(uint32_t len);
  // Copies a frame into the buffer, sets len, skb.protocol (as eth_type_trans does) and clears
  // the cached hash; false, nothing changed, if the frame exceeds max_len().
  bool assign(std::span<const uint8_t> frame);
  // assign() for a frame already written in place: the first len bytes at data().
  bool frame_written(uint32_t len);
  // A GSO frame (after frame_written): segs segments of gso_size payload bytes, each repeating
  // hdr_len header bytes. Sets skb.gso_size/gso_segs and wire_len to what the segments put on
  // the wire (qdisc_pkt_len of Linux's qdisc_pkt_len_init), so qdiscs count real bytes.
  void set_gso(uint16_t gso_size, uint16_t segs, uint16_t hdr_len);

  // qdisc_pkt_len(): what qdiscs count in backlog and byte stats. The uapi exposes it as
  // __sk_buff.wire_len; without GSO it equals len.
  uint32_t qdisc_len() const { return skb.wire_len; }
  // skb.protocol in host byte order (the field holds the ethertype in network byte order).
  uint16_t ethertype() const;

  // skb_get_hash(): the cached flow hash, computed on first use by the flow dissector with the
  // pool's perturbation (never 0). bpf_skb_get_hash returns this.
  uint32_t get_hash();
  // Forgets the cached hash (the bytes changed, or a new perturbation should apply).
  void clear_hash() { skb.hash = 0; }
};

static_assert(offsetof(Packet, skb) == 0, "programs address the Packet through its __sk_buff");

}  // namespace bpfq::sched
