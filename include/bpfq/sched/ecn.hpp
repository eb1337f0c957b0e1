#pragma once
// ECN marking with Linux's INET_ECN_set_ce() semantics, for AQM qdiscs (codel, red, fq_codel).
#include <cstdint>
#include <span>

namespace bpfq::sched {

struct Packet;

// The ECN codepoint (0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE) of the frame's IPv4/IPv6 header,
// or -1 if the frame has none (not IP, truncated).
int ecn_codepoint(std::span<const uint8_t> frame);

// Marks Congestion Experienced if the packet is ECN-capable: ECT(0)/ECT(1) become CE (IPv4
// fixes the header checksum incrementally, RFC 1624). Returns true if the packet now carries CE
// (including one that already did), false if it is Not-ECT or not IP, as INET_ECN_set_ce().
// Looks past VLAN tags in the bytes. Never reads or writes outside the frame.
bool ecn_set_ce(std::span<uint8_t> frame);
bool ecn_set_ce(Packet& pkt);

}  // namespace bpfq::sched
