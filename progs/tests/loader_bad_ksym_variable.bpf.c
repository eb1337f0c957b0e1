/* Loader test (must fail): reads a typed kernel variable (extern … __ksym), which bpfq has not. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern const int bpf_prog_active __ksym;

SEC("tc") int reads_ksym(struct __sk_buff *skb) {
  return *&bpf_prog_active;
}

char LICENSE[] SEC("license") = "GPL";
