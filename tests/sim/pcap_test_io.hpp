#pragma once
// Writes and reads pcap files with libpcap directly, independently of the simulator's own
// capture code. In a file of its own: libpcap's headers clash with <linux/bpf.h>.
#include <cstdint>
#include <string>
#include <vector>

namespace bpfq::io::sim::test {

struct PcapRecord {
  uint64_t ts_ns = 0;
  uint32_t len = 0;            // on the wire; more than bytes.size() for a frame the snaplen cut
  std::vector<uint8_t> bytes;  // captured
};

struct PcapContents {
  int linktype = 0;
  bool nanosecond = false;  // the file's own precision
  std::vector<PcapRecord> records;
};

inline constexpr int kLinktypeEthernetForTest = 1;
inline constexpr int kLinktypeLinuxSllForTest = 113;  // Linux "cooked" capture (tcpdump -i any)

// Reads with nanosecond timestamps; fails the test (ADD_FAILURE) and returns nothing on error.
PcapContents read_pcap(const std::string& path);
// A record with len 0 is written with len = bytes.size().
void write_pcap(const std::string& path, int linktype, bool nanosecond, const std::vector<PcapRecord>& records);

}  // namespace bpfq::io::sim::test
