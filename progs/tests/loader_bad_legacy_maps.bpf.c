/* Loader test (must fail): a pre-BTF map definition in SEC("maps"). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct legacy_map_def {
  unsigned int type, key_size, value_size, max_entries, map_flags;
};

struct legacy_map_def old_style SEC("maps") = {
    .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 4};

SEC("tc") int uses_old_style(struct __sk_buff *skb) {
  __u32 key = 0;
  return bpf_map_lookup_elem(&old_style, &key) != 0;
}

char LICENSE[] SEC("license") = "GPL";
