/* codel: Linux's sch_codel as a bpfq program. One FIFO (a BPFQ_SKB_QUEUE); tail drop at
 * `limit` packets; CoDel (bpfq/bpf/codel.h) decides at dequeue which head packets to drop or
 * ECN-mark. Each packet carries its enqueue time in skb->cb[0..1].
 *
 * Parameters (tc names; times in ns): limit (packets, 1000, at most 65536), target (5 ms), interval (100 ms),
 * ecn (0/1, 0), ce_threshold (ns, 0 = off), mtu (bytes, 1514 = psched_mtu of a 1500-byte
 * Ethernet device: a backlog at or below it never drops).
 * Statistics (tc -s xstats): maxpacket, drop_overlimit, ecn_mark, ce_mark, and the CoDel state
 * `vars` (struct codel_vars: count, lastcount, dropping, drop_next, ldelay). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/codel.h>

const volatile bpfq_count limit = 1000;
const volatile bpfq_time_ns target = 5000000ULL;
const volatile bpfq_time_ns interval = 100000000ULL;
const volatile bpfq_count ecn = 0;
const volatile bpfq_time_ns ce_threshold = 0;
const volatile bpfq_size_bytes mtu = 1514;

#define QUEUE_CAPACITY 65536

BPFQ_SKB_QUEUE(queue, QUEUE_CAPACITY, 1); /* every packet at rank 0: FIFO */

struct codel_params params; /* from the parameters, by qdisc/init */
struct codel_vars vars;
__u32 backlog; /* bytes queued */

__u32 maxpacket;
__u32 drop_overlimit;
__u32 ecn_mark;
__u32 ce_mark;

SEC("qdisc/init")
int codel_init(struct sch_bpf_ctx *ctx)
{
	if (limit > QUEUE_CAPACITY)
		return -22; /* -EINVAL: the queue map cannot hold that many */
	codel_params_set(&params, target, interval, ce_threshold, mtu, ecn);
	return 0;
}

SEC("qdisc/enqueue")
int codel_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u64 now;

	if (bpf_skb_queue_len(&queue) >= limit) {
		drop_overlimit++;
		return SCH_BPF_DROP;
	}
	now = bpf_ktime_get_ns();
	skb->cb[0] = (__u32)now;
	skb->cb[1] = (__u32)(now >> 32);
	if (bpf_skb_queue_push(&queue, skb_ref(skb), 0))
		return SCH_BPF_DROP;
	backlog += skb->wire_len;
	return SCH_BPF_QUEUED;
}

static __always_inline struct sk_buff *pop_head(void *unused, __u32 *len, __u64 *enqueue_ns)
{
	struct sk_buff *skb = bpf_skb_queue_pop(&queue);
	struct __sk_buff *view;

	if (!skb)
		return NULL;
	view = skb_view(skb);
	*len = view->wire_len;
	*enqueue_ns = ((__u64)view->cb[1] << 32) | view->cb[0];
	backlog -= *len;
	return skb;
}

static __always_inline void drop_packet(void *unused, struct sk_buff *skb)
{
	bpf_skb_release(skb); /* counted by the engine as dropped by the program */
}

SEC("qdisc/dequeue")
int codel_dequeue_prog(struct sch_bpf_ctx *ctx)
{
	struct codel_stats st = {};
	struct sk_buff *skb;

	skb = codel_dequeue(NULL, &backlog, &params, &vars, &st, bpf_ktime_get_ns(), pop_head, drop_packet);
	if (st.maxpacket > maxpacket)
		maxpacket = st.maxpacket;
	ecn_mark += st.ecn_mark;
	ce_mark += st.ce_mark;
	ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
