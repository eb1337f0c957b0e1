// The .BTF of kernel_types.bpf.c, built by clang at build time (src/sched/CMakeLists.txt) and
// included here as bytes.
#include <bpfq/sched/kernel_view.hpp>

#ifndef BPFQ_KERNEL_BTF_PATH
#error "BPFQ_KERNEL_BTF_PATH must name the .btf file"
#endif

asm(".pushsection .rodata\n"
    ".balign 8\n"
    "bpfq_kernel_btf_begin:\n"
    ".incbin \"" BPFQ_KERNEL_BTF_PATH "\"\n"
    "bpfq_kernel_btf_end:\n"
    ".popsection\n");

extern "C" const uint8_t bpfq_kernel_btf_begin[];
extern "C" const uint8_t bpfq_kernel_btf_end[];

namespace bpfq::sched {

std::span<const uint8_t> kernel_btf() {
  return {bpfq_kernel_btf_begin, static_cast<size_t>(bpfq_kernel_btf_end - bpfq_kernel_btf_begin)};
}

}  // namespace bpfq::sched
