#pragma once
// Writes frames to a pcap file (libpcap, LINKTYPE_ETHERNET) with nanosecond timestamps, so
// Wireshark and tcpdump open what the bottleneck sent, timed in virtual time.
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

struct pcap;
struct pcap_dumper;

namespace bpfq::io::sim {

class PcapWriter {
 public:
  // Throws bpfq::Error if the file cannot be created.
  explicit PcapWriter(const std::string& path);
  ~PcapWriter();  // closes without reporting errors: call close() first
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Never throws (it runs inside the simulation); a failed write is reported by close().
  void write(uint64_t time_ns, std::span<const uint8_t> frame);
  // Flushes and closes; throws bpfq::Error naming the file if any write failed (e.g. a full disk).
  void close();
  uint64_t frames() const { return frames_; }

 private:
  void check_stream();

  std::string path_;
  std::FILE* file_ = nullptr;
  int write_errno_ = 0;
  struct pcap* handle_ = nullptr;
  struct pcap_dumper* dumper_ = nullptr;
  uint64_t frames_ = 0;
};

}  // namespace bpfq::io::sim
