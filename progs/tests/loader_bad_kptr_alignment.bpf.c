/* Loader test (must fail): a packet reference (kptr) at an offset that is not 8-byte aligned. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpfq/bpf/map_types.h>

#define __kptr_ref __attribute__((btf_type_tag("kptr_ref")))

struct sk_buff;

struct squeezed {
  __u32 rank;
  struct sk_buff __kptr_ref *skb; /* offset 4 */
} __attribute__((packed));

struct {
  __uint(type, BPF_MAP_TYPE_RBTREE);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, struct squeezed);
} squeezed_map SEC(".maps");

SEC("qdisc/enqueue") int uses_squeezed(struct __sk_buff *skb) {
  __u32 key = 0;
  return bpf_map_lookup_elem(&squeezed_map, &key) != 0;
}

char LICENSE[] SEC("license") = "GPL";
