/* cbs (Linux net/sched/sch_cbs.c, software mode): the Credit Based Shaper of IEEE 802.1Q-2018
 * (8.6.8.2), used for AVB/TSN stream reservation classes.
 *
 * How Linux does it (cbs_enqueue_soft, cbs_dequeue_soft), and this program too; credits are in
 * bytes, slopes in bytes per second (tc's kbit/s x 125):
 *   - enqueue: when the queue is empty and credits are positive, credits drop to 0 and the
 *     clock `last` restarts at now (no credit is hoarded while idle); the packet joins the FIFO.
 *   - dequeue: while the previous packet is still on the wire (now < last) nothing is sent
 *     (THROTTLE until last). If credits are negative they grow at idleslope since `last`
 *     (capped at hicredit); still negative: THROTTLE until they reach 0, last = now.
 *     Otherwise the head packet leaves, credits += len * sendslope / port_rate (sendslope is
 *     negative), floored at locredit, and last = now + the packet's time on the wire at
 *     port_rate.
 *
 * Packets are kept in an skb queue (Linux's default child, a pfifo of `limit` packets).
 *
 * Parameters (tc's names and units):
 *   idleslope  kbit/s, credit gained while waiting (default 0)
 *   sendslope  kbit/s, signed: credit spent while sending, normally idleslope - port rate
 *              (default 0)
 *   hicredit   bytes, signed: the most credit (default 0)
 *   locredit   bytes, signed: the least credit (default 0)
 *   offload    flag: hardware offload, refused (no hardware)
 *   port_rate  bytes/s: the link's rate, which Linux reads from ethtool (default 10mbit, Linux's
 *              value when the speed is unknown)
 *   limit      packets in the queue (default 1000: the pfifo child's tx_queue_len)
 * bpfq's CLI takes no minus sign: write negative values as 32-bit two's complement
 * (sendslope -900000 is 0xfff24460). */
#include <bpfq/bpf/sch_bpf.h>

#define NSEC_PER_SEC 1000000000LL
#define BYTES_PER_KBIT 125LL /* 1000 / 8 */
#define S64_MAX 0x7fffffffffffffffLL

const volatile bpfq_count idleslope = 0;
const volatile __s32 sendslope = 0;
const volatile __s32 hicredit = 0;
const volatile __s32 locredit = 0;
const volatile bpfq_count offload = 0;
const volatile bpfq_rate_Bps port_rate = 1250000;
const volatile bpfq_count limit = 1000;

/* Derived in qdisc/init: the slopes in bytes per second. */
__s64 idleslope_Bps;
__s64 sendslope_Bps;

/* struct cbs_sched_data */
__s64 credits;
__s64 last;

BPFQ_SKB_QUEUE(queue, 65536, 1024);

/* a * b / c for a, b >= 0, c > 0, truncated as div64_s64 truncates. */
static __always_inline __s64 muldiv(__u64 a, __u64 b, __u64 c)
{
	return (__s64)(a * b / c);
}

/* div64_s64(x * slope, d) for a signed slope: truncated toward zero, as the kernel divides. */
static __always_inline __s64 scale_signed(__u64 x, __s64 slope, __u64 d)
{
	return slope < 0 ? -muldiv(x, (__u64)-slope, d) : muldiv(x, (__u64)slope, d);
}

SEC("qdisc/init")
int cbs_init(struct sch_bpf_ctx *ctx)
{
	if (offload) {
		bpf_printk("cbs: offload is not supported (software only)");
		return -95;
	}
	if (idleslope > 0x7fffffff) {
		bpf_printk("cbs: idleslope %u kbit/s does not fit Linux's s32", idleslope);
		return -22;
	}
	if (port_rate == 0) {
		bpf_printk("cbs: port_rate must be non-zero");
		return -22;
	}
	if (limit == 0 || limit > 65536) {
		bpf_printk("cbs: limit %u is outside 1..65536 packets", limit);
		return -22;
	}
	idleslope_Bps = (__s64)idleslope * BYTES_PER_KBIT;
	sendslope_Bps = (__s64)sendslope * BYTES_PER_KBIT;
	credits = 0;
	last = 0;
	return 0;
}

SEC("qdisc/enqueue")
int cbs_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 qlen = bpf_skb_queue_len(&queue);

	if (qlen == 0 && credits > 0) {
		credits = 0;
		last = bpf_ktime_get_ns();
	}
	if (qlen >= limit)
		return SCH_BPF_DROP; /* pfifo */
	if (bpf_skb_queue_push(&queue, skb_ref(ctx->skb), 0))
		return SCH_BPF_DROP;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int cbs_dequeue(struct sch_bpf_ctx *ctx)
{
	__s64 now = bpf_ktime_get_ns(), c;
	struct sk_buff *skb;
	__u32 len;

	ctx->skb = NULL;
	/* The previous packet is still being sent. */
	if (now < last) {
		ctx->delay = last - now;
		return SCH_BPF_THROTTLE;
	}
	if (credits < 0) {
		c = credits + muldiv(now - last, idleslope_Bps, NSEC_PER_SEC); /* timediff_to_credits */
		credits = c < hicredit ? c : hicredit;
		if (credits < 0) {
			last = now;
			/* delay_from_credits: never, with an idleslope of 0 */
			ctx->delay = idleslope_Bps ? muldiv(-credits, NSEC_PER_SEC, idleslope_Bps) : S64_MAX;
			return SCH_BPF_THROTTLE;
		}
	}
	skb = bpf_skb_queue_pop(&queue);
	if (!skb)
		return SCH_BPF_DEQUEUED; /* empty */
	len = skb_view(skb)->wire_len;
	c = credits + scale_signed(len, sendslope_Bps, port_rate); /* credits_from_len */
	credits = c > locredit ? c : locredit;
	/* when the packet's last byte leaves */
	last = now + muldiv(len, NSEC_PER_SEC, port_rate);
	ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
