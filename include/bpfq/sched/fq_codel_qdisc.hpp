#pragma once
// Linux's fq_codel (net/sched/sch_fq_codel.c with include/net/codel*.h), natively: packets are
// hashed into `flows` buckets (reciprocal_scale of skb_get_hash), each bucket is a FIFO with its
// own CoDel state, and buckets are served by deficit round robin with a new-flows list that
// goes before the old-flows list. Over `limit` packets or `memory_limit` bytes, up to
// `drop_batch` packets (at least half the bytes) are dropped from the head of the fattest flow.
//
// CoDel runs on Linux's clock: codel_time_t is a u32 count of 1024 ns units (ns >> 10), so
// target, interval, ce_threshold and sojourn times are quantised exactly as in the kernel.
// Differences from Linux: no external classifier (tc filters), no ce_threshold selector/mask,
// memory is counted by packet length (bpfq has no truesize), and no per-dequeue drop cap.
// Everything is allocated at construction; enqueue/dequeue never allocate or throw.
#include <cstdint>
#include <vector>

#include <bpfq/sched/device_params.hpp>
#include <bpfq/sched/packet_queue.hpp>
#include <bpfq/sched/qdisc.hpp>

namespace bpfq::sched {

// tc's fq_codel options with Linux's defaults (fq_codel_init); times in nanoseconds.
struct FqCodelParams {
  static constexpr uint64_t kCeThresholdOff = ~uint64_t{0};

  uint32_t limit = 10 * 1024;           // packets
  uint32_t flows = 1024;                // hash buckets, 1..65536
  uint64_t target_ns = 5'000'000;       // 5 ms
  uint64_t interval_ns = 100'000'000;   // 100 ms
  uint32_t quantum = 1514;              // bytes per DRR round; Linux: psched_mtu, at least 256
  bool ecn = true;                      // mark ECT packets CE instead of dropping them
  uint64_t ce_threshold_ns = kCeThresholdOff;  // mark CE above this sojourn time (DCTCP style)
  uint32_t memory_limit = 32u << 20;    // bytes of queued packets; Linux caps it at 2^31
  uint32_t drop_batch = 64;             // most packets one overflow drops; at least 1
  uint32_t mtu = 1514;                  // codel's mtu: below this backlog CoDel never drops

  // Linux's defaults on a device: quantum and mtu are its psched_mtu (clamped to [256, 2^20]).
  static FqCodelParams for_device(const DeviceParams& device);
};

// tc -s's fq_codel xstats (struct tc_fq_codel_qd_stats).
struct FqCodelStats {
  uint32_t maxpacket = 0;        // largest packet CoDel has looked at
  uint32_t drop_overlimit = 0;   // packets dropped by the limit / memory overflow
  uint32_t ecn_mark = 0;         // CoDel marked CE instead of dropping
  uint32_t new_flow_count = 0;   // times a flow entered the new-flows list
  uint32_t ce_mark = 0;          // marked CE by ce_threshold
  uint32_t memory_usage = 0;     // bytes held in the flows
  uint32_t drop_overmemory = 0;  // overflow drops while over memory_limit
  uint32_t codel_drops = 0;      // packets CoDel dropped at dequeue (Linux counts them in drops)
  uint32_t new_flows_len = 0;    // flows on the new-flows list now
  uint32_t old_flows_len = 0;    // flows on the old-flows list now
};

class FqCodelQdisc : public Qdisc {
 public:
  // Linux's codel_vars of one flow; times are codel_time_t (1024 ns units).
  struct CodelVars {
    uint32_t count = 0;
    uint32_t lastcount = 0;
    bool dropping = false;
    uint16_t rec_inv_sqrt = 0;  // 1/sqrt(count) in Q0.16
    uint32_t first_above_time = 0;
    uint32_t drop_next = 0;
    uint32_t ldelay = 0;  // sojourn time of the last packet CoDel looked at
  };

  // Throws bpfq::Error for parameters Linux refuses (flows 0 or above 65536, quantum above
  // 2^20); clamps as Linux does (quantum at least 256, drop_batch at least 1, memory_limit at
  // most 2^31).
  explicit FqCodelQdisc(const FqCodelParams& params = {}, Handle handle = {});
  ~FqCodelQdisc() override;

  const FqCodelParams& params() const { return params_; }
  FqCodelStats xstats() const;

  // The bucket a packet goes to: skb->priority when it names a class 1..flows of this qdisc
  // (major = our handle), else reciprocal_scale(skb_get_hash, flows). 0-based.
  uint32_t flow_of(Packet& pkt) const;
  uint32_t flow_qlen(uint32_t flow) const { return flows_[flow].queue.size(); }
  uint32_t flow_backlog(uint32_t flow) const { return static_cast<uint32_t>(flows_[flow].queue.bytes()); }
  int32_t flow_deficit(uint32_t flow) const { return flows_[flow].deficit; }
  const CodelVars& flow_codel(uint32_t flow) const { return flows_[flow].cvars; }

  // The codel helpers, exposed for tests: one Newton step of rec_inv_sqrt, and the control law
  // t + interval / sqrt(count).
  static void newton_step(CodelVars& vars);
  static uint32_t control_law(uint32_t t, uint32_t interval, uint16_t rec_inv_sqrt);

 protected:
  EnqueueResult do_enqueue(Packet* pkt, uint64_t now_ns) override;
  DequeueResult do_dequeue(uint64_t now_ns) override;
  void do_reset() override;

 private:
  enum class List : uint8_t { None, New, Old };
  struct Flow {
    PacketQueue queue;
    Flow* next = nullptr;  // link in new_flows_ or old_flows_
    List list = List::None;
    int32_t deficit = 0;
    CodelVars cvars;
  };
  // An intrusive FIFO of flows (Linux's list_head, used only at its ends).
  struct FlowList {
    Flow* head = nullptr;
    Flow* tail = nullptr;
    bool empty() const { return head == nullptr; }
    void push_back(Flow* f);
    Flow* pop_front();
    uint32_t size() const;
  };

  // fq_codel_drop: drops from the head of the fattest flow; returns that flow's index.
  uint32_t drop_from_fattest();
  // dequeue_func: the flow's head packet, leaving the qdisc's queues (nullptr when empty).
  Packet* take_head(Flow& flow);
  // codel_should_drop; updates first_above_time, ldelay and maxpacket.
  bool should_drop(const Packet* pkt, CodelVars& vars, uint32_t now);
  // codel_dequeue for one flow: drops or marks as CoDel says and returns the packet to send.
  Packet* codel_dequeue(Flow& flow, uint32_t now);
  void codel_drop(Packet* pkt);

  FqCodelParams params_;
  // Derived from params_ in codel_time_t.
  uint32_t target_ = 0;
  uint32_t interval_ = 0;
  uint32_t ce_threshold_ = 0;
  std::vector<Flow> flows_;
  FlowList new_flows_;
  FlowList old_flows_;
  FqCodelStats xstats_;
};

}  // namespace bpfq::sched
