#include "bpfq_player.hpp"

#include <bpfq/sched/ecn.hpp>
#include <bpfq/sched/packet_builder.hpp>

namespace bpfq::ns3diff {
namespace {

sched::IpBytes ip_bytes(uint32_t host_order) {
  return {static_cast<uint8_t>(host_order >> 24), static_cast<uint8_t>(host_order >> 16),
          static_cast<uint8_t>(host_order >> 8), static_cast<uint8_t>(host_order)};
}

class Player {
 public:
  Player(sched::Qdisc& q, sched::PacketPool& pool, runtime::ManualClock& clock)
      : q_(q), pool_(pool), clock_(clock) {}

  void play(const Script& script) {
    for (const Op& op : script) {
      // A watchdog due strictly before the op fires first; one due at the same time fires
      // after it (ns-3 runs events of equal time in scheduling order, and the ops were
      // scheduled first).
      while (wake_ns_ != 0 && wake_ns_ < op.time_ns) fire_watchdog();
      clock_.set(op.time_ns);
      switch (op.kind) {
        case Op::Kind::Enqueue: enqueue(op); break;
        case Op::Kind::Dequeue: dequeue_once(/*record_empty=*/true); break;
        case Op::Kind::Run: run(); break;
      }
    }
    // Timers still armed after the last op fire as in ns-3's Simulator::Run.
    while (wake_ns_ != 0) fire_watchdog();
  }

  Trace finish() {
    const sched::QdiscStats& s = q_.stats();
    trace_.totals = Totals{s.enqueued_packets, s.sent_packets, s.sent_bytes, s.dropped, s.qlen, s.backlog};
    q_.reset();
    return std::move(trace_);
  }

 private:
  void enqueue(const Op& op) {
    sched::Packet* pkt = build_packet(pool_, op.pkt);
    if (!pkt) {
      trace_.events.push_back({Event::Kind::Dropped, op.time_ns, op.pkt.id, false});
      return;
    }
    q_.enqueue(pkt, op.time_ns);
    // Whatever the verdict (Congested may have dropped this packet or another one), the packet
    // is still queued exactly when it still has a reference: the pool has not reused it yet.
    bool kept = pkt->refcount > 0;
    trace_.events.push_back({kept ? Event::Kind::Accepted : Event::Kind::Dropped, op.time_ns, op.pkt.id, false});
  }

  // One dequeue at the clock's time; true if a packet came out.
  bool dequeue_once(bool record_empty) {
    uint64_t now = clock_.now_ns();
    sched::DequeueResult r = q_.dequeue(now);
    if (r.kind == sched::DequeueResult::Kind::Packet) {
      bool ce = sched::ecn_codepoint(r.packet->bytes()) == 3;
      trace_.events.push_back({Event::Kind::Sent, now, r.packet->skb.mark, ce});
      sched::PacketPool::release(r.packet);
      return true;
    }
    if (r.kind == sched::DequeueResult::Kind::Throttled && r.throttled_until_ns > now &&
        (wake_ns_ == 0 || r.throttled_until_ns < wake_ns_))
      wake_ns_ = r.throttled_until_ns;
    if (record_empty) trace_.events.push_back({Event::Kind::Empty, now, 0, false});
    return false;
  }

  void run() {
    while (dequeue_once(/*record_empty=*/false)) {
    }
  }

  void fire_watchdog() {
    clock_.set(wake_ns_);
    wake_ns_ = 0;
    run();
  }

  sched::Qdisc& q_;
  sched::PacketPool& pool_;
  runtime::ManualClock& clock_;
  uint64_t wake_ns_ = 0;  // 0: not armed
  Trace trace_;
};

}  // namespace

sched::Packet* build_packet(sched::PacketPool& pool, const PacketSpec& spec) {
  sched::Packet* pkt = pool.alloc();
  if (!pkt) return nullptr;
  sched::FrameSpec f;
  f.src_ip = ip_bytes(spec.src_ip);
  f.dst_ip = ip_bytes(spec.dst_ip);
  f.l4 = spec.tcp ? sched::L4::Tcp : sched::L4::Udp;
  f.sport = spec.sport;
  f.dport = spec.dport;
  f.payload_len = spec.payload_len();
  f.dscp = spec.dscp;
  f.ecn = spec.ecn;
  if (!sched::build_into(*pkt, f)) {
    sched::PacketPool::release(pkt);
    return nullptr;
  }
  pkt->skb.mark = spec.id;
  pkt->skb.priority = spec.priority;
  return pkt;
}

Trace play_bpfq(sched::Qdisc& q, sched::PacketPool& pool, runtime::ManualClock& clock,
                const Script& script) {
  Player player(q, pool, clock);
  player.play(script);
  return player.finish();
}

}  // namespace bpfq::ns3diff
