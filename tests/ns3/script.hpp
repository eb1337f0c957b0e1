#pragma once
// A differential script: timed operations played on both a bpfq qdisc and an ns-3 queue disc,
// and the trace of events each side reports, compared event by event.
#include <cstdint>
#include <string>
#include <vector>

namespace bpfq::ns3diff {

// One IPv4 packet, described the same way to both sides. frame_len is bpfq's frame length
// (Ethernet 14 + IPv4 20 + L4 header + payload) and equals the ns-3 item's GetSize() (see
// docs/qdiscs/differential.md: the ns-3 packet carries 14 padding bytes for the Ethernet header).
struct PacketSpec {
  uint32_t id = 0;
  uint32_t frame_len = 100;
  uint32_t src_ip = 0x0a000001;  // host order: 10.0.0.1
  uint32_t dst_ip = 0x0a000002;
  uint16_t sport = 1000;
  uint16_t dport = 2000;
  bool tcp = false;              // UDP otherwise
  uint8_t dscp = 0;              // 6 bits
  uint8_t ecn = 0;               // 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE
  uint32_t priority = 0;         // skb->priority / ns-3 SocketPriorityTag

  uint8_t tos() const { return static_cast<uint8_t>(dscp << 2 | (ecn & 3)); }
  // Bytes the L4 header and payload take beyond the Ethernet + IPv4 headers.
  uint32_t l4_header_len() const { return tcp ? 20 : 8; }
  uint32_t payload_len() const { return frame_len - 14 - 20 - l4_header_len(); }
};

struct Op {
  enum class Kind : uint8_t {
    Enqueue,  // offer pkt
    Dequeue,  // one dequeue attempt
    Run,      // a device that is always ready: dequeue until nothing comes out; a throttled
              // qdisc is run again when its watchdog fires (ns-3: QueueDisc::Run + its timer)
  };
  uint64_t time_ns = 0;
  Kind kind = Kind::Enqueue;
  PacketSpec pkt;  // Enqueue only
};

using Script = std::vector<Op>;  // in time order

// What a side reports, in the order it happened.
struct Event {
  enum class Kind : uint8_t { Accepted, Dropped, Sent, Empty };
  Kind kind = Kind::Empty;
  uint64_t time_ns = 0;
  uint32_t id = 0;  // Accepted/Dropped/Sent
  bool ce = false;  // Sent: the packet carries CE when it leaves
  bool operator==(const Event&) const = default;
};
std::string to_string(const Event& e);

struct Totals {
  uint64_t received = 0;  // offered to enqueue
  uint64_t sent_packets = 0;
  uint64_t sent_bytes = 0;
  uint64_t dropped = 0;  // before enqueue or after (AQM drops, head drops)
  uint64_t queued_packets = 0;  // left in the queue at the end
  uint64_t queued_bytes = 0;
  bool operator==(const Totals&) const = default;
};
std::string to_string(const Totals& t);

struct Trace {
  std::vector<Event> events;
  Totals totals;
  uint64_t marked() const;  // Sent events with ce
};

// Compares two traces event by event (time, kind, id, CE).
struct Comparison {
  size_t compared = 0;  // events compared (the longer trace's length)
  size_t agreed = 0;    // equal at the same position
  std::string first_difference;  // empty when all agree
  bool all_agree() const { return compared == agreed && first_difference.empty(); }
};
Comparison compare(const Trace& bpfq, const Trace& ns3);

// ---- script building ----

// Appends an enqueue of pkt at time t.
void enqueue_at(Script& s, uint64_t t, const PacketSpec& pkt);
void dequeue_at(Script& s, uint64_t t);
void run_at(Script& s, uint64_t t);

// Seeded random traffic: bursts of arrivals from `flows` UDP flows (source ports
// flow_ports[i]) faster than the dequeue rate, so queues build and drops or marks happen.
struct RandomScriptConfig {
  uint64_t seed = 1;
  uint32_t packets = 400;
  std::vector<uint16_t> flow_ports = {1000};  // one flow per source port
  uint32_t min_len = 64, max_len = 1514;      // frame lengths
  uint64_t mean_gap_ns = 50'000;              // between arrivals inside a burst
  uint32_t max_burst = 20;                    // arrivals per burst
  uint64_t dequeue_gap_ns = 120'000;          // dequeue attempts at this period (0: none)
  bool dscp_mix = false;                      // random DSCP and priority per packet
  bool ecn_mix = false;                       // random ECN codepoints (Not-ECT, ECT(0), ECT(1))
  bool run_mode = false;                      // Run ops instead of Dequeue ops
  bool run_after_enqueue = false;             // a Run op right after every arrival (a device
                                              // that is idle whenever the qdisc lets it send)
  uint64_t time_unit_ns = 1;                  // every op time is a multiple of this
  // Each flow's first packet arrives in flow order (packets 0..flows-1), so a side that numbers
  // flows by first arrival numbers them as the script does.
  bool flows_first_in_order = true;
};
Script random_script(const RandomScriptConfig& config);

// One sender faster than the dequeue rate: `packets` copies of pkt (ids 1, 2, ...) every
// arrival_gap from `start`, a dequeue every dequeue_gap from start + dequeue_gap / 2, and after
// the last arrival `drain` more dequeue periods (0: the script ends with the standing queue).
Script overload_script(const PacketSpec& pkt, uint32_t packets, uint64_t start, uint64_t arrival_gap,
                       uint64_t dequeue_gap, uint32_t drain);

// rt_tos2priority(): the skb->priority Linux gives a locally generated packet for its TOS
// (ip_tos2prio table, net/ipv4/route.c).
uint32_t tos_to_priority(uint8_t tos);

}  // namespace bpfq::ns3diff
