#pragma once
// Where the build puts the eBPF objects tests load: progs/tests/<name>.bpf.o (objects that exist
// for tests) and progs/<name>.bpf.o (the qdisc library).
#include <string>
#include <string_view>

namespace bpfq::test {

inline std::string test_object(std::string_view name) {
  return std::string(BPFQ_BINARY_DIR) + "/progs/tests/" + std::string(name) + ".bpf.o";
}

inline std::string library_object(std::string_view name) {
  return std::string(BPFQ_BINARY_DIR) + "/progs/" + std::string(name) + ".bpf.o";
}

}  // namespace bpfq::test
