#pragma once
// Reads a whole capture (pcap or pcapng, through libpcap) into memory with nanosecond
// timestamps. Kept apart from the simulator's other files: libpcap's headers clash with
// <linux/bpf.h>.
#include <cstdint>
#include <string>
#include <vector>

namespace bpfq::io::sim {

inline constexpr int kLinktypeEthernet = 1;  // LINKTYPE_ETHERNET / DLT_EN10MB

struct CapturedFrame {
  uint64_t ts_ns = 0;
  uint32_t len = 0;     // on the wire
  uint32_t caplen = 0;  // bytes captured (less than len when the snaplen cut it)
  size_t offset = 0;    // of its captured bytes in Capture::bytes
};

struct Capture {
  int linktype = 0;
  std::vector<CapturedFrame> frames;
  std::vector<uint8_t> bytes;
};

// Throws bpfq::Error naming the file if it cannot be opened or is damaged.
Capture read_capture(const std::string& path);

}  // namespace bpfq::io::sim
