/* Loader test (must fail): __type(key) and __uint(key_size) disagree. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u64);
  __uint(key_size, 4);
  __type(value, __u64);
} confused SEC(".maps");

SEC("tc") int uses_confused(struct __sk_buff *skb) {
  __u64 key = 0;
  return bpf_map_lookup_elem(&confused, &key) != 0;
}

char LICENSE[] SEC("license") = "GPL";
