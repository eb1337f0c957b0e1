#pragma once
// Linux's pfifo_fast: three FIFO bands; skb->priority & TC_PRIO_MAX picks the band through the
// priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1; dequeue serves the lowest non-empty band.
// Each band holds up to tx_queue_len packets (since Linux 4.16 every band is a ptr_ring of
// tx_queue_len entries), so a full band drops while the others still accept.
#include <array>
#include <cstdint>

#include <bpfq/sched/device_params.hpp>
#include <bpfq/sched/packet_queue.hpp>
#include <bpfq/sched/qdisc.hpp>

namespace bpfq::sched {

class PfifoFastQdisc : public Qdisc {
 public:
  static constexpr int kBands = 3;
  static constexpr std::array<uint8_t, 16> kPrioToBand = {1, 2, 2, 2, 1, 2, 0, 0,
                                                          1, 1, 1, 1, 1, 1, 1, 1};

  // Throws bpfq::Error if tx_queue_len is 0 (Linux refuses zero-length rings with -EINVAL).
  explicit PfifoFastQdisc(Handle handle = {}, const DeviceParams& device = {});
  ~PfifoFastQdisc() override;

  static int band_of(const Packet& pkt) { return kPrioToBand[pkt.skb.priority & 15u]; }  // TC_PRIO_MAX
  uint32_t band_limit() const { return band_limit_; }
  uint32_t band_qlen(int band) const { return bands_[band].size(); }

 protected:
  EnqueueResult do_enqueue(Packet* pkt, uint64_t now_ns) override;
  DequeueResult do_dequeue(uint64_t now_ns) override;
  const Packet* do_peek(uint64_t now_ns) override;
  void do_reset() override;

 private:
  std::array<PacketQueue, kBands> bands_;
  uint32_t band_limit_;
};

}  // namespace bpfq::sched
