// Helpers that read the run's environment (RunEnv): time, randomness, trace output.
#include <cstring>

#include <bpfq/runtime/run_env.hpp>

#include "helper_support.hpp"
#include "trace_format.hpp"

namespace bpfq::runtime::detail {

using exec::RunContext;

namespace {

// %s arguments: copied byte by byte, each byte checked in checked mode.
bool read_program_string(uint64_t p, char* out, size_t cap) {
  const RunContext* rc = RunContext::current();
  for (size_t i = 0; i + 1 < cap; ++i) {
    if (!readable(rc, p + i, 1)) return false;
    out[i] = *reinterpret_cast<const char*>(p + i);
    if (out[i] == '\0') return true;
  }
  out[cap - 1] = '\0';
  return true;
}

uint64_t print(RunContext* rc, uint64_t fmt, uint64_t fmt_size, const uint64_t* args, int n_args,
               int max_args, const char* bad_fmt) {
  if (!readable(rc, fmt, fmt_size)) return fail(rc, bad_fmt);  // format_trace checks the rest
  char text[512];  // the kernel's bprintf buffer is as large
  const long n = format_trace(reinterpret_cast<const char*>(fmt), fmt_size, args, n_args, max_args,
                              read_program_string, text, sizeof text);
  if (n < 0) return errno_result(static_cast<int>(n));
  current_trace().write(std::string_view(text, static_cast<size_t>(n)));
  return static_cast<uint64_t>(n);
}

}  // namespace

uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return current_clock().program_ns();
}

uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return current_prng().next_u32();
}

uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return 0; }

uint64_t trace_printk(uint64_t fmt, uint64_t fmt_size, uint64_t a1, uint64_t a2, uint64_t a3) {
  const uint64_t args[3] = {a1, a2, a3};
  return print(RunContext::current(), fmt, fmt_size, args, 3, 3,
               "bpf_trace_printk: format outside program memory");
}

uint64_t trace_vprintk(uint64_t fmt, uint64_t fmt_size, uint64_t data, uint64_t data_len, uint64_t) {
  RunContext* rc = RunContext::current();
  constexpr uint64_t kMaxArgs = 12;  // the kernel's MAX_BPRINTF_VARARGS
  if (data_len % 8 != 0 || data_len > kMaxArgs * 8 || (data_len != 0 && data == 0))
    return errno_result(-EINVAL);
  if (data_len != 0 && !readable(rc, data, data_len))
    return fail(rc, "bpf_trace_vprintk: arguments outside program memory");
  uint64_t args[kMaxArgs] = {};
  if (data_len != 0) std::memcpy(args, reinterpret_cast<const void*>(data), data_len);
  return print(rc, fmt, fmt_size, args, static_cast<int>(data_len / 8), static_cast<int>(data_len / 8),
               "bpf_trace_vprintk: format outside program memory");
}

}  // namespace bpfq::runtime::detail
