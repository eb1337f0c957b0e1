#pragma once
// The ns-3 side of a differential test: plays a Script on an ns-3 QueueDisc (libns3-dev), used
// only through its public API. ns-3's headers stay inside ns3_oracle.cpp, so tests describe the
// queue disc with type names and attribute strings.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "script.hpp"

namespace bpfq::ns3diff {

struct Ns3QdiscSpec {
  std::string type;  // e.g. "ns3::FifoQueueDisc"
  // Attributes as ns-3 parses them from strings, e.g. {"MaxSize", "100p"}, {"Interval", "100ms"}.
  std::vector<std::pair<std::string, std::string>> attributes;
  // FqCoDelQueueDisc/FqPieQueueDisc::SetQuantum (bytes). Standalone (no NetDevice) they would
  // keep quantum 0 (FqCoDel spins in DoDequeue), so the oracle refuses such a spec without it.
  uint32_t fq_quantum = 0;
  // PfifoFastQueueDisc: three DropTail internal queues of this many packets each (0: ns-3's own,
  // which share one limit over all bands).
  uint32_t band_limit = 0;
  // PrioQueueDisc: one class per entry holding a FifoQueueDisc of that MaxSize (e.g. "5p").
  std::vector<std::string> prio_children;
  // Simulator::Stop at this time (0: run until no event is left). A queue disc with a periodic
  // timer (PieQueueDisc's CalculateP) never runs out of events.
  uint64_t stop_ns = 0;
};

// A spec with only a type and attributes.
inline Ns3QdiscSpec ns3_qdisc(std::string type,
                              std::vector<std::pair<std::string, std::string>> attributes = {}) {
  Ns3QdiscSpec spec;
  spec.type = std::move(type);
  spec.attributes = std::move(attributes);
  return spec;
}

// Plays script on a fresh queue disc in a fresh simulation (Simulator::Destroy at the end).
// Throws std::runtime_error if the spec names no QueueDisc or an attribute is refused.
Trace play_ns3(const Ns3QdiscSpec& spec, const Script& script);

// Ipv4QueueDiscItem::Hash(perturbation) of the packet's ns-3 item: what FqCoDel classifies by
// (modulo its Flows attribute) when it has no packet filter and no set-associative hash.
uint32_t ns3_flow_hash(const PacketSpec& pkt, uint32_t perturbation);

}  // namespace bpfq::ns3diff
