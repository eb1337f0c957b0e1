/* Map sharing test: declares the pinned map of engine_edt.h with another value size, so an
 * object opened after engine_edt*.bpf.o with the same runtime::PinnedMaps must fail. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, __u32);
	__type(value, __u32); /* engine_edt.h: __u64 */
} edt_next_send SEC(".maps");

/* Not pinned: private to each object even when its name is pinned elsewhere. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} private_counter SEC(".maps");

SEC("tc")
int touch(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u32 *v = bpf_map_lookup_elem(&edt_next_send, &key);

	if (v)
		*v += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
