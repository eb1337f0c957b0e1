#include "pcap_test_io.hpp"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

namespace bpfq::io::sim::test {

PcapContents read_pcap(const std::string& path) {
  PcapContents c;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!p) {
    ADD_FAILURE() << "libpcap cannot open " << path << ": " << errbuf;
    return c;
  }
  c.linktype = pcap_datalink(p);
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1)
    c.records.push_back({static_cast<uint64_t>(h->ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(h->ts.tv_usec), h->len,
                         std::vector<uint8_t>(data, data + h->caplen)});
  if (rc != PCAP_ERROR_BREAK) ADD_FAILURE() << "reading " << path << " ended with " << rc;
  pcap_close(p);
  // The file's precision: the magic number says it.
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    uint32_t magic = 0;
    if (std::fread(&magic, 4, 1, f) == 1) c.nanosecond = magic == 0xa1b23c4d;
    std::fclose(f);
  }
  return c;
}

void write_pcap(const std::string& path, int linktype, bool nanosecond, const std::vector<PcapRecord>& records) {
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(linktype, 65535,
                                                      nanosecond ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
  ASSERT_NE(dead, nullptr);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  if (!d) {
    ADD_FAILURE() << "cannot write " << path << ": " << pcap_geterr(dead);
    pcap_close(dead);
    return;
  }
  for (const PcapRecord& r : records) {
    pcap_pkthdr h{};
    const uint64_t unit = nanosecond ? 1 : 1000;
    h.ts.tv_sec = static_cast<time_t>(r.ts_ns / 1'000'000'000);
    h.ts.tv_usec = static_cast<suseconds_t>(r.ts_ns % 1'000'000'000 / unit);
    h.caplen = static_cast<bpf_u_int32>(r.bytes.size());
    h.len = r.len ? r.len : static_cast<bpf_u_int32>(r.bytes.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, r.bytes.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

}  // namespace bpfq::io::sim::test
