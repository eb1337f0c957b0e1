#include "pcap_writer.hpp"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <bpfq/error.hpp>

namespace bpfq::io::sim {

namespace {
constexpr int kSnapLen = 65535;
constexpr const char* kWriteHint = "check that the disk has room and the file is writable";
}  // namespace

PcapWriter::PcapWriter(const std::string& path) : path_(path) {
  handle_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnapLen, PCAP_TSTAMP_PRECISION_NANO);
  if (!handle_) throw Error("libpcap could not create a capture handle", path);
  // Our own FILE, so that write errors can be read back (libpcap's pcap_dump reports none).
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) {
    const int err = errno;
    pcap_close(handle_);
    throw Error(std::string("cannot write the capture: ") + std::strerror(err), path,
                "check that the folder exists and is writable");
  }
  dumper_ = pcap_dump_fopen(handle_, file_);
  if (!dumper_) {
    std::string why = pcap_geterr(handle_);
    std::fclose(file_);
    pcap_close(handle_);
    throw Error("cannot write the capture: " + why, path, kWriteHint);
  }
  check_stream();  // the file header went into the stream's buffer
}

PcapWriter::~PcapWriter() {
  if (dumper_) pcap_dump_close(dumper_);  // also closes file_
  pcap_close(handle_);
}

void PcapWriter::check_stream() {
  if (write_errno_ == 0 && std::ferror(file_)) write_errno_ = errno != 0 ? errno : EIO;
}

void PcapWriter::write(uint64_t time_ns, std::span<const uint8_t> frame) {
  pcap_pkthdr header{};
  header.ts.tv_sec = static_cast<time_t>(time_ns / 1'000'000'000);
  header.ts.tv_usec = static_cast<suseconds_t>(time_ns % 1'000'000'000);  // nanoseconds: the file says so
  header.caplen = static_cast<bpf_u_int32>(frame.size());
  header.len = static_cast<bpf_u_int32>(frame.size());
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &header, frame.data());
  check_stream();  // the first error's errno: later calls may overwrite it
  ++frames_;
}

void PcapWriter::close() {
  if (!dumper_) return;
  if (pcap_dump_flush(dumper_) != 0 && write_errno_ == 0) write_errno_ = errno != 0 ? errno : EIO;
  check_stream();
  pcap_dump_close(dumper_);
  dumper_ = nullptr;
  if (write_errno_ != 0)
    throw Error(std::string("cannot write the capture: ") + std::strerror(write_errno_), path_, kWriteHint);
}

}  // namespace bpfq::io::sim
