/* Loader test (must fail): a map definition with a field libbpf does not know. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __uint(colour, 3);
  __type(key, __u32);
  __type(value, __u64);
} painted SEC(".maps");

SEC("tc") int uses_painted(struct __sk_buff *skb) {
  __u32 key = 0;
  return bpf_map_lookup_elem(&painted, &key) != 0;
}

char LICENSE[] SEC("license") = "GPL";
