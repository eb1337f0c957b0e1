#include "pcap_reader.hpp"

#include <pcap/pcap.h>

#include <memory>

#include <bpfq/error.hpp>

namespace bpfq::io::sim {

Capture read_capture(const std::string& path) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> p(
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf), pcap_close);
  if (!p) {
    std::string why = errbuf;
    if (why.rfind(path + ": ", 0) == 0) why = why.substr(path.size() + 2);  // where() names the file already
    throw Error("cannot read the capture: " + why, path, "a pcap or pcapng file");
  }
  Capture c;
  c.linktype = pcap_datalink(p.get());
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(p.get(), &header, &data)) == 1) {
    // With nanosecond precision requested, tv_usec holds nanoseconds.
    const uint64_t ts = static_cast<uint64_t>(header->ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(header->ts.tv_usec);
    c.frames.push_back({ts, header->len, header->caplen, c.bytes.size()});
    c.bytes.insert(c.bytes.end(), data, data + header->caplen);
  }
  if (rc == PCAP_ERROR)
    throw Error(std::string("cannot read the capture: ") + pcap_geterr(p.get()), path, "the file is damaged or cut short");
  return c;
}

}  // namespace bpfq::io::sim
