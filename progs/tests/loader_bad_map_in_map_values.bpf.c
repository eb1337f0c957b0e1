/* Loader test (must fail): a map-in-map whose definition initialises its slots with inner maps. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_def {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} inner_a SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner_def);
} outer SEC(".maps") = {.values = {[0] = &inner_a}};

SEC("tc") int uses_outer(struct __sk_buff *skb) {
  __u32 key = 0;
  return bpf_map_lookup_elem(&outer, &key) != 0;
}

char LICENSE[] SEC("license") = "GPL";
