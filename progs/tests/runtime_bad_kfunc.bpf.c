/* Runtime test: a call to a kfunc bpfq does not provide is a load error. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern __u64 bpf_no_such_kfunc(__u64 x) __ksym;

SEC("tc") int prog(void *ctx) { return bpf_no_such_kfunc(7); }

char LICENSE[] SEC("license") = "GPL";
