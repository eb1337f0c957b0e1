#include "pcap_writer.hpp"

#include <pcap/pcap.h>

#include <bpfq/error.hpp>

namespace bpfq::io::sim {

namespace {
constexpr int kSnapLen = 65535;
}

PcapWriter::PcapWriter(const std::string& path) {
  handle_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnapLen, PCAP_TSTAMP_PRECISION_NANO);
  if (!handle_) throw Error("libpcap could not create a capture handle", path);
  dumper_ = pcap_dump_open(handle_, path.c_str());
  if (!dumper_) {
    std::string why = pcap_geterr(handle_);
    if (why.rfind(path + ": ", 0) == 0) why = why.substr(path.size() + 2);  // where() names the file already
    pcap_close(handle_);
    throw Error("cannot write the capture: " + why, path, "check that the folder exists and is writable");
  }
}

PcapWriter::~PcapWriter() {
  pcap_dump_close(dumper_);
  pcap_close(handle_);
}

void PcapWriter::write(uint64_t time_ns, std::span<const uint8_t> frame) {
  pcap_pkthdr header{};
  header.ts.tv_sec = static_cast<time_t>(time_ns / 1'000'000'000);
  header.ts.tv_usec = static_cast<suseconds_t>(time_ns % 1'000'000'000);  // nanoseconds: the file says so
  header.caplen = static_cast<bpf_u_int32>(frame.size());
  header.len = static_cast<bpf_u_int32>(frame.size());
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &header, frame.data());
  ++frames_;
}

}  // namespace bpfq::io::sim
