/* prio (Linux net/sched/sch_prio.c): a classful strict-priority scheduler. Band b is class
 * major:b+1 and its child qdisc (set up by user space, e.g. `tc qdisc add ... parent 1:1 pfifo`);
 * dequeue serves the lowest-numbered band that has packets.
 *
 * Classification, as prio_classify():
 *   - skb->priority is major:minor of this qdisc -> band minor-1;
 *   - else the filters attached to this qdisc (bpf_skb_tc_classify) -> band minor-1 of the class
 *     they return; no filter or no match -> priomap[skb->priority & TC_PRIO_MAX] (priority 0
 *     when skb->priority has major bits);
 *   - a band outside 0..bands-1 -> priomap[0].
 *
 * Dequeue passes to the first band whose child holds packets (bpf_qdisc_class_qlen), as Linux
 * asks each band's child in turn.
 * Parameters: bands (2..16, default 3), priomap (16 bands, default 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1). */
#include <bpfq/bpf/sch_bpf.h>

#define MAX_BANDS 16 /* TCQ_PRIO_BANDS */

const volatile bpfq_count bands = 3;
const volatile __u8 priomap[TC_PRIO_MAX + 1] = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};

static __always_inline __u32 major_of(__u32 handle)
{
	return handle & 0xffff0000;
}

static __u32 classify(struct __sk_buff *skb, __u32 handle)
{
	__u32 prio = skb->priority;
	__u32 band;

	if (major_of(prio) != handle) {
		__u32 classid = bpf_skb_tc_classify(skb, skb->ifindex, handle);

		if (!classid) {
			if (major_of(prio))
				prio = 0;
			return priomap[prio & TC_PRIO_MAX];
		}
		prio = classid;
	}
	band = (prio & 0xffff) - 1; /* minor 0 wraps to out of range */
	if (band >= bands)
		return priomap[0];
	return band;
}

/* prio_tune(): bands outside 2..16 or a priomap entry naming a band that does not exist is
 * -EINVAL, so the qdisc refuses to start (BpfQdisc::init throws). */
SEC("qdisc/init")
int prio_init(struct sch_bpf_ctx *ctx)
{
	if (bands < 2 || bands > MAX_BANDS)
		return -22;
	for (__u32 i = 0; i <= TC_PRIO_MAX; i++)
		if (priomap[i] >= bands)
			return -22;
	return 0;
}

SEC("qdisc/enqueue")
int prio_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 band = classify(ctx->skb, ctx->classid);

	if (band >= MAX_BANDS)
		return SCH_BPF_DROP; /* unreachable after prio_init; keeps the index in bounds */
	ctx->classid = major_of(ctx->classid) | (band + 1);
	return SCH_BPF_PASS;
}

SEC("qdisc/dequeue")
int prio_dequeue(struct sch_bpf_ctx *ctx)
{
	ctx->skb = NULL;
	for (__u32 band = 0; band < MAX_BANDS; band++) {
		if (band >= bands)
			break;
		__u32 classid = major_of(ctx->classid) | (band + 1);

		if (bpf_qdisc_class_qlen(classid)) {
			ctx->classid = classid;
			return SCH_BPF_PASS;
		}
	}
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
