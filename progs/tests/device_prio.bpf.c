/* Device test: a two-band priority qdisc that classifies with bpf_skb_tc_classify (the filters
 * attached to the qdisc on the packet's device) and PASSes to the class it returns; dequeue
 * PASSes to class 1:1 before 1:2. Packets no filter matches go by skb->priority (1 or 2, set by
 * the clsact egress program below), else to 1:2.
 *
 * The egress program (SEC("tc")) lives in this object to share the `egress` map with the qdisc:
 * it numbers packets in egress[0] and writes the number to skb->mark; the qdisc checks that the
 * mark is the number it reads from the same map (egress[1] counts mismatches). It sets
 * skb->priority from the global egress_priority and drops (TC_ACT_SHOT) UDP/TCP port shot_port. */
#include <bpfq/bpf/sch_bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>

#include "ipv4_ports.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} egress SEC(".maps");

/* Packets handed to each class and not yet dequeued: [0] class 1:1, [1] class 1:2. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} backlog SEC(".maps");

__u32 egress_priority;
__u32 shot_port;
__u32 classified; /* enqueues where bpf_skb_tc_classify returned a class */

SEC("tc")
int egress_stamp(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&egress, &key);

	if (shot_port && dport(skb) == (int)shot_port)
		return TC_ACT_SHOT;
	if (!n)
		return TC_ACT_SHOT;
	*n += 1;
	skb->mark = (__u32)*n;
	skb->priority = egress_priority;
	return TC_ACT_OK;
}

SEC("qdisc/enqueue")
int enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&egress, &key);
	__u32 classid = bpf_skb_tc_classify(skb, skb->ifindex, ctx->classid);
	__u32 band;
	__u64 *queued;

	if (n && *n != 0 && skb->mark != (__u32)*n) {
		key = 1;
		__u64 *bad = bpf_map_lookup_elem(&egress, &key);
		if (bad)
			*bad += 1;
	}
	if (classid)
		classified++;
	else if (skb->priority == 1 || skb->priority == 2)
		classid = (ctx->classid & 0xffff0000) | skb->priority;
	else
		classid = (ctx->classid & 0xffff0000) | 2;
	band = (classid & 0xffff) - 1;
	if (band > 1)
		return SCH_BPF_DROP;
	queued = bpf_map_lookup_elem(&backlog, &band);
	if (!queued)
		return SCH_BPF_DROP;
	*queued += 1;
	ctx->classid = classid;
	return SCH_BPF_PASS;
}

SEC("qdisc/dequeue")
int dequeue(struct sch_bpf_ctx *ctx)
{
	for (__u32 band = 0; band < 2; band++) {
		__u64 *queued = bpf_map_lookup_elem(&backlog, &band);

		if (queued && *queued) {
			*queued -= 1;
			ctx->classid = (ctx->classid & 0xffff0000) | (band + 1);
			return SCH_BPF_PASS;
		}
	}
	ctx->skb = NULL;
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
