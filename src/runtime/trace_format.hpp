#pragma once
// bpf_trace_printk's formatting, as the kernel's bpf_bprintf_prepare accepts it: conversions
// %d %i %u %x %X with an optional l or ll, %c, %s, %p (%px, %pK), flags "0+- " and a width; at
// most max_args arguments. Writes into a caller buffer: no allocation.
#include <cstddef>
#include <cstdint>

namespace bpfq::runtime::detail {

// Copies the NUL-terminated string at program address `p` into out (at most cap-1 chars,
// always terminated); false if the program may not read it.
using ReadString = bool (*)(uint64_t p, char* out, size_t cap);

// fmt: fmt_len bytes, NUL-terminated within them. Returns the length written to out (cap > 0,
// always terminated, truncated to fit), or -EINVAL for a format the kernel would reject.
long format_trace(const char* fmt, size_t fmt_len, const uint64_t* args, int n_args, int max_args,
                  ReadString read_string, char* out, size_t cap);

}  // namespace bpfq::runtime::detail
