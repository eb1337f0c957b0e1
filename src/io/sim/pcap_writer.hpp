#pragma once
// Writes frames to a pcap file (libpcap, LINKTYPE_ETHERNET) with nanosecond timestamps, so
// Wireshark and tcpdump open what the bottleneck sent, timed in virtual time.
#include <cstdint>
#include <span>
#include <string>

struct pcap;
struct pcap_dumper;

namespace bpfq::io::sim {

class PcapWriter {
 public:
  // Throws bpfq::Error if the file cannot be created.
  explicit PcapWriter(const std::string& path);
  ~PcapWriter();  // flushes and closes
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  void write(uint64_t time_ns, std::span<const uint8_t> frame);
  uint64_t frames() const { return frames_; }

 private:
  struct pcap* handle_ = nullptr;
  struct pcap_dumper* dumper_ = nullptr;
  uint64_t frames_ = 0;
};

}  // namespace bpfq::io::sim
