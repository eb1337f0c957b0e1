/* Loader test (must fail): a map-in-map without __array(values, …) for its inner map. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpfq/bpf/map_types.h>

struct {
  __uint(type, BPF_MAP_TYPE_RBTREE_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} hollow SEC(".maps");

SEC("qdisc/enqueue") int uses_hollow(struct __sk_buff *skb) {
  __u32 key = 0;
  return bpf_map_lookup_elem(&hollow, &key) != 0;
}

char LICENSE[] SEC("license") = "GPL";
