/* Runtime test: a call to a helper id bpfq does not provide is a load error. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static long (*bpf_no_such_helper)(__u64 x) = (void *)9999;

SEC("tc") int prog(void *ctx) {
  __u64 x = 1;
  x += 2;
  return bpf_no_such_helper(x);
}

char LICENSE[] SEC("license") = "GPL";
