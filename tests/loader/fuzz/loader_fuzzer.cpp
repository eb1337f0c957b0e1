// libFuzzer entry point (clang only, BPFQ_LOADER_LIBFUZZER=ON): any input must load into an
// ObjectSpec or throw bpfq::Error. Seed it with the test objects:
//   loader_fuzzer -max_len=65536 <build>/progs/tests/
#include <cstddef>
#include <cstdint>
#include <span>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    bpfq::loader::load_object(std::span<const uint8_t>(data, size), "fuzz.bpf.o");
  } catch (const bpfq::Error&) {
    // Rejection is the expected outcome for most inputs; anything else escapes and aborts.
  }
  return 0;
}
