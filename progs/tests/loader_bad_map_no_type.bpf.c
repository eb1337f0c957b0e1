/* Loader test (must fail): a BTF map definition without __uint(type, …). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} untyped SEC(".maps");

SEC("tc") int uses_untyped(struct __sk_buff *skb) {
  __u32 key = 0;
  return bpf_map_lookup_elem(&untyped, &key) != 0;
}

char LICENSE[] SEC("license") = "GPL";
