/* The map an EDT clsact program and an EDT qdisc share (engine_edt_clsact.bpf.c,
 * engine_edt.bpf.c): per flow, the earliest departure time of its next packet, in ns of
 * bpf_ktime_get_ns. Pinned by name, so two objects opened with one runtime::PinnedMaps use one
 * map, as libbpf shares pinned maps. */
#define EDT_FLOWS 4

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EDT_FLOWS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, __u32);
	__type(value, __u64);
} edt_next_send SEC(".maps");

/* The flow of a packet: tests tag flows in the upper half of skb->mark. */
static __always_inline __u32 edt_flow(struct __sk_buff *skb)
{
	return (skb->mark >> 16) % EDT_FLOWS;
}

/* Nanoseconds a packet of len bytes occupies at rate bytes per second. */
static __always_inline __u64 edt_duration(__u32 len, __u64 rate)
{
	return rate ? (__u64)len * 1000000000ull / rate : 0;
}
