#pragma once
// Verifying a bare instruction sequence as a "raw" program (r1 = a buffer of ctx_size bytes,
// r2 = its size), reading the r0 range the verifier proved, and building the objects programs
// are verified in: shared by the verifier's tests.
#include <cinttypes>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <bpfq/ebpf/insn.hpp>
#include <bpfq/loader/object_spec.hpp>
#include <bpfq/verifier/verifier.hpp>

namespace bpfq::test {

inline verifier::VerifyResult verify_raw(const std::vector<ebpf::Insn>& insns, uint32_t ctx_size = 64,
                                         uint64_t insn_limit = verifier::VerifyOptions{}.insn_limit) {
  loader::ProgramSpec spec;
  spec.name = "raw";
  spec.section = "raw";
  spec.insns = insns;
  spec.functions.push_back({"raw", 0, insns.size()});
  static const loader::ObjectSpec object;
  verifier::VerifyOptions opts;
  opts.ctx_size = ctx_size;
  opts.insn_limit = insn_limit;
  return verifier::verify(spec, object, verifier::raw_memory_type(), opts);
}

// Appends a map to a hand-built object; the pointer lets the caller set the rest.
inline maps::MapSpec* add_map(loader::ObjectSpec& o, std::string name, maps::MapType type, uint32_t key_size,
                              uint32_t value_size, uint32_t max_entries) {
  maps::MapSpec m;
  m.name = std::move(name);
  m.type = static_cast<uint32_t>(type);
  m.key_size = key_size;
  m.value_size = value_size;
  m.max_entries = max_entries;
  o.maps.push_back(std::move(m));
  return &o.maps.back();
}

inline bool r0_in_range(const verifier::VerifyResult& v, uint64_t r0) {
  const auto s = static_cast<int64_t>(r0);
  return s >= v.r0_smin && s <= v.r0_smax && r0 >= v.r0_umin && r0 <= v.r0_umax;
}

inline std::string range_text(const verifier::VerifyResult& v) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "s[%" PRId64 ", %" PRId64 "] u[%" PRIu64 ", %" PRIu64 "] (u[0x%" PRIx64 ", 0x%" PRIx64 "])",
                v.r0_smin, v.r0_smax, v.r0_umin, v.r0_umax, v.r0_umin, v.r0_umax);
  return buf;
}

}  // namespace bpfq::test
