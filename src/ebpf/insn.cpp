#include <bpfq/ebpf/insn.hpp>

#include <cstring>

#include <bpfq/error.hpp>

namespace bpfq::ebpf {

uint64_t Insn::raw() const {
  uint64_t w;
  std::memcpy(&w, this, sizeof w);
  return w;
}

Insn Insn::from_raw(uint64_t w) {
  Insn i;
  std::memcpy(&i, &w, sizeof i);
  return i;
}

std::vector<Insn> from_bytes(std::span<const uint8_t> bytes) {
  if (bytes.size() % sizeof(Insn) != 0)
    throw Error("program size " + std::to_string(bytes.size()) + " is not a multiple of 8 bytes",
                {}, "each eBPF instruction is one 8-byte slot");
  std::vector<Insn> out(bytes.size() / sizeof(Insn));
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

std::vector<uint8_t> to_bytes(std::span<const Insn> insns) {
  std::vector<uint8_t> out(insns.size() * sizeof(Insn));
  std::memcpy(out.data(), insns.data(), out.size());
  return out;
}

}  // namespace bpfq::ebpf
