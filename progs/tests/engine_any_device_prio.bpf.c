/* A classful prio qdisc that reuses tc filters attached anywhere (the seed's use case 4): enqueue
 * runs bpf_skb_tc_classify on the filters of qdisc/class `filter_handle` of device
 * `filter_ifindex` — another device than the one this qdisc runs on — and PASSes the packet to
 * the class it returns (its minor picks the band); packets no filter claims go to band
 * `default_band`. Dequeue PASSes to the child of the lowest band with packets: strict priority
 * over BANDS child qdiscs (classes MAJ:1 .. MAJ:BANDS, pfifos in the tests).
 * Parameters: filter_ifindex, filter_handle, default_band (1-based, default 3). */
#include <bpfq/bpf/sch_bpf.h>

#define BANDS 3

const volatile __u32 filter_ifindex = 0;
const volatile __u32 filter_handle = 0;
const volatile __u32 default_band = BANDS;

/* Packets handed to each band's child and not yet dequeued; [BANDS] counts unclassified ones. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BANDS + 1);
	__type(key, __u32);
	__type(value, __u64);
} band_backlog SEC(".maps");

SEC("qdisc/enqueue")
int prio_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 classid = bpf_skb_tc_classify(ctx->skb, filter_ifindex, filter_handle);
	__u32 band = classid & 0xffff, index;
	__u64 *queued;

	if (band == 0 || band > BANDS) {
		__u32 other = BANDS;
		__u64 *unclassified = bpf_map_lookup_elem(&band_backlog, &other);

		if (unclassified)
			*unclassified += 1;
		band = default_band;
	}
	if (band == 0 || band > BANDS)
		return SCH_BPF_DROP;
	index = band - 1;
	queued = bpf_map_lookup_elem(&band_backlog, &index);
	if (!queued)
		return SCH_BPF_DROP;
	*queued += 1;
	ctx->classid = (ctx->classid & 0xffff0000) | band; /* our own major: MAJ:band */
	return SCH_BPF_PASS;
}

SEC("qdisc/dequeue")
int prio_dequeue(struct sch_bpf_ctx *ctx)
{
	for (__u32 index = 0; index < BANDS; index++) {
		__u64 *queued = bpf_map_lookup_elem(&band_backlog, &index);

		if (queued && *queued) {
			*queued -= 1;
			ctx->classid = (ctx->classid & 0xffff0000) | (index + 1);
			return SCH_BPF_PASS;
		}
	}
	ctx->skb = NULL;
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
