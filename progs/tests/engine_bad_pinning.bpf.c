/* Loader test: a pinning value libbpf does not know (only LIBBPF_PIN_NONE, LIBBPF_PIN_BY_NAME). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(pinning, 2);
	__type(key, __u32);
	__type(value, __u64);
} odd_pin SEC(".maps");

SEC("tc")
int prog(struct __sk_buff *skb)
{
	__u32 key = 0;
	return bpf_map_lookup_elem(&odd_pin, &key) ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
