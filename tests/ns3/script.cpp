#include "script.hpp"

#include <algorithm>
#include <array>
#include <random>
#include <sstream>

namespace bpfq::ns3diff {

std::string to_string(const Event& e) {
  static constexpr const char* kNames[] = {"accepted", "dropped", "sent", "empty"};
  std::ostringstream os;
  os << "t=" << e.time_ns << "ns " << kNames[static_cast<int>(e.kind)];
  if (e.kind != Event::Kind::Empty) os << " #" << e.id;
  if (e.kind == Event::Kind::Sent && e.ce) os << " CE";
  return os.str();
}

std::string to_string(const Totals& t) {
  std::ostringstream os;
  os << "received " << t.received << ", sent " << t.sent_packets << " pkt " << t.sent_bytes
     << " B, dropped " << t.dropped << ", queued " << t.queued_packets << " pkt "
     << t.queued_bytes << " B";
  return os.str();
}

uint64_t Trace::marked() const {
  return std::count_if(events.begin(), events.end(),
                       [](const Event& e) { return e.kind == Event::Kind::Sent && e.ce; });
}

Comparison compare(const Trace& bpfq, const Trace& ns3) {
  Comparison c;
  c.compared = std::max(bpfq.events.size(), ns3.events.size());
  for (size_t i = 0; i < c.compared; ++i) {
    const Event* a = i < bpfq.events.size() ? &bpfq.events[i] : nullptr;
    const Event* b = i < ns3.events.size() ? &ns3.events[i] : nullptr;
    if (a && b && *a == *b) {
      ++c.agreed;
    } else if (c.first_difference.empty()) {
      c.first_difference = "event " + std::to_string(i) + ": bpfq " + (a ? to_string(*a) : "<none>") +
                           ", ns-3 " + (b ? to_string(*b) : "<none>");
    }
  }
  return c;
}

void enqueue_at(Script& s, uint64_t t, const PacketSpec& pkt) {
  s.push_back(Op{t, Op::Kind::Enqueue, pkt});
}
void dequeue_at(Script& s, uint64_t t) { s.push_back(Op{t, Op::Kind::Dequeue, {}}); }
void run_at(Script& s, uint64_t t) { s.push_back(Op{t, Op::Kind::Run, {}}); }

uint32_t tos_to_priority(uint8_t tos) {
  // TC_PRIO_BESTEFFORT 0, TC_PRIO_BULK 2, TC_PRIO_INTERACTIVE_BULK 4, TC_PRIO_INTERACTIVE 6.
  static constexpr std::array<uint8_t, 16> kIpTos2Prio = {0, 0, 0, 0, 2, 2, 2, 2,
                                                          6, 6, 6, 6, 4, 4, 4, 4};
  return kIpTos2Prio[(tos & 0x1e) >> 1];
}

Script random_script(const RandomScriptConfig& config) {
  std::mt19937_64 rng(config.seed);
  auto uniform = [&](uint64_t lo, uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  static constexpr std::array<uint8_t, 3> kEcn = {0, 1, 2};  // Not-ECT, ECT(1), ECT(0)
  const auto flows = static_cast<uint32_t>(config.flow_ports.size());

  // Arrivals: bursts separated by idle gaps, so queues build and drain.
  std::vector<Op> arrivals;
  uint64_t t = 1'000'000;
  uint32_t burst_left = 0;
  for (uint32_t i = 0; i < config.packets; ++i) {
    if (burst_left == 0) {
      burst_left = static_cast<uint32_t>(uniform(1, config.max_burst));
      t += uniform(0, config.mean_gap_ns * config.max_burst);  // idle between bursts
    }
    --burst_left;
    t += uniform(1, 2 * config.mean_gap_ns);
    t = (t + config.time_unit_ns - 1) / config.time_unit_ns * config.time_unit_ns;
    PacketSpec p;
    p.id = i + 1;
    uint32_t flow = config.flows_first_in_order && i < flows ? i : static_cast<uint32_t>(uniform(0, flows - 1));
    p.sport = config.flow_ports[flow];
    p.frame_len = static_cast<uint32_t>(uniform(config.min_len, config.max_len));
    if (config.dscp_mix) {
      p.dscp = static_cast<uint8_t>(uniform(0, 63));
      p.priority = tos_to_priority(p.tos());
    }
    if (config.ecn_mix) p.ecn = kEcn[uniform(0, kEcn.size() - 1)];
    arrivals.push_back(Op{t, Op::Kind::Enqueue, p});
  }

  // Dequeue attempts on a fixed period, offset by half a period from nothing in particular;
  // arrival times are odd-ish random so they rarely coincide, and when they do the arrival
  // (listed first) happens first on both sides.
  Script script;
  const uint64_t end = t + config.dequeue_gap_ns * 64;  // drain for a while after the last arrival
  size_t next = 0;
  uint64_t tick = config.dequeue_gap_ns ? 1'000'000 + config.dequeue_gap_ns / 2 : end + 1;
  tick = tick / config.time_unit_ns * config.time_unit_ns;
  while (next < arrivals.size() || tick <= end) {
    if (next < arrivals.size() && (tick > end || arrivals[next].time_ns <= tick)) {
      script.push_back(arrivals[next]);
      if (config.run_after_enqueue) run_at(script, arrivals[next].time_ns);
      ++next;
    } else {
      script.push_back(Op{tick, config.run_mode ? Op::Kind::Run : Op::Kind::Dequeue, {}});
      tick += config.dequeue_gap_ns;
      if (config.dequeue_gap_ns == 0) tick = end + 1;
    }
  }
  return script;
}

Script overload_script(const PacketSpec& pkt, uint32_t packets, uint64_t start, uint64_t arrival_gap,
                       uint64_t dequeue_gap, uint32_t drain) {
  Script s;
  uint64_t t_arrive = start, t_dequeue = start + dequeue_gap / 2;
  uint32_t id = 1;
  while (id <= packets || t_dequeue < t_arrive + drain * dequeue_gap) {
    if (id <= packets && t_arrive <= t_dequeue) {
      PacketSpec p = pkt;
      p.id = id++;
      enqueue_at(s, t_arrive, p);
      t_arrive += arrival_gap;
    } else {
      dequeue_at(s, t_dequeue);
      t_dequeue += dequeue_gap;
    }
  }
  return s;
}

}  // namespace bpfq::ns3diff
