#pragma once
// Linux's sch_fifo: pfifo (limit in packets), bfifo (limit in bytes) and pfifo_head_drop.
// Tail drop at the limit; without an explicit limit pfifo takes the device's tx_queue_len and
// bfifo tx_queue_len * psched_mtu (mtu + link-layer header), as fifo_init() does.
#include <cstdint>
#include <optional>

#include <bpfq/sched/device_params.hpp>
#include <bpfq/sched/packet_queue.hpp>
#include <bpfq/sched/qdisc.hpp>

namespace bpfq::sched {

class FifoQdisc : public Qdisc {
 public:
  ~FifoQdisc() override;
  uint32_t limit() const { return limit_; }
  // `tc qdisc change ... limit N`: queued packets stay even above a smaller limit.
  void set_limit(uint32_t limit) { limit_ = limit; }

 protected:
  FifoQdisc(std::string_view kind, Handle handle, uint32_t limit);
  DequeueResult do_dequeue(uint64_t now_ns) override;
  const Packet* do_peek(uint64_t now_ns) override;
  void do_reset() override;
  EnqueueResult enqueue_tail(Packet* pkt);

  PacketQueue queue_;
  uint32_t limit_;
};

// pfifo: drops the arriving packet when qlen has reached limit.
class PfifoQdisc : public FifoQdisc {
 public:
  explicit PfifoQdisc(std::optional<uint32_t> limit = std::nullopt, Handle handle = {},
                      const DeviceParams& device = {});

 protected:
  EnqueueResult do_enqueue(Packet* pkt, uint64_t now_ns) override;
};

// bfifo: drops the arriving packet when backlog + its length would exceed limit (bytes).
class BfifoQdisc : public FifoQdisc {
 public:
  explicit BfifoQdisc(std::optional<uint32_t> limit = std::nullopt, Handle handle = {},
                      const DeviceParams& device = {});

 protected:
  EnqueueResult do_enqueue(Packet* pkt, uint64_t now_ns) override;
};

// pfifo_head_drop: at the limit, drops the oldest packet to admit the new one and returns
// Congested (NET_XMIT_CN); with limit 0 it drops the arriving packet.
class PfifoHeadDropQdisc : public FifoQdisc {
 public:
  explicit PfifoHeadDropQdisc(std::optional<uint32_t> limit = std::nullopt, Handle handle = {},
                              const DeviceParams& device = {});

 protected:
  EnqueueResult do_enqueue(Packet* pkt, uint64_t now_ns) override;
};

}  // namespace bpfq::sched
