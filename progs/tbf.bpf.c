/* tbf: Linux's token bucket filter (net/sched/sch_tbf.c) as a bpfq program.
 *
 * Two buckets counted, as Linux counts them, in nanoseconds of credit: `tokens` (depth: the time
 * `burst` bytes take at `rate`) and, with a peak rate, `ptokens` (depth: the time `mtu` bytes
 * take at `peakrate`). The head packet leaves once both buckets hold its transmission time;
 * otherwise dequeue returns THROTTLE with ctx->delay = exactly the time until they will.
 *
 * Linux's child is a bfifo of `limit` bytes; here the FIFO lives inside the program (a packet
 * queue plus a held head packet, as Linux's peek of the child) with the same byte limit.
 *
 * Parameters (units as bpfq's CLI passes them):
 *   rate      bytes/s, required (init fails when 0)
 *   burst     bytes, required: the bucket; also the largest packet accepted
 *   limit     bytes of queue; 0: computed from latency as tc does
 *   latency   ns; with limit 0: limit = rate*latency + burst (min peakrate*latency + mtu)
 *   peakrate  bytes/s, 0: none; must exceed rate
 *   mtu       bytes, the peak bucket; required with peakrate (as tc requires it) */
#include <bpfq/bpf/sch_bpf.h>

#define NSEC_PER_SEC 1000000000ULL

const volatile bpfq_rate_Bps rate = 0;
const volatile bpfq_size_bytes burst = 0;
const volatile bpfq_size_bytes limit = 0;
const volatile bpfq_time_ns latency = 0;
const volatile bpfq_rate_Bps peakrate = 0;
const volatile bpfq_size_bytes mtu = 0;

/* Derived in qdisc/init. */
__s64 buffer_ns;   /* depth of the rate bucket: burst at rate */
__s64 mtu_ns;      /* depth of the peak bucket: mtu at peakrate */
__u32 max_size;    /* larger packets are dropped at enqueue */
__u32 byte_limit;  /* the bfifo limit */

/* Bucket state, as struct tbf_sched_data. */
__s64 tokens;
__s64 ptokens;
__u64 t_c;         /* time of the last checkpoint */

__u32 backlog;     /* bytes queued, the held head included */
__u32 head_len;    /* length of the held head packet; 0: none held */
__u64 overlimits;  /* dequeues that found the head packet over the limit (Linux's overlimits) */

BPFQ_SKB_QUEUE(queue, 65536, 1024);

/* The head packet, taken off the queue and not yet sendable (Linux peeks it in the child). */
struct held {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct held);
} head SEC(".maps");

/* psched_l2t_ns: the time len bytes take at r bytes/s. Linux approximates the division with
 * a multiply and shift; bpfq divides exactly (floor). */
static __always_inline __s64 l2t_ns(__u64 r, __u32 len)
{
	return (__s64)(((__u64)len * NSEC_PER_SEC) / r);
}

/* The bytes sent at r bytes/s in t ns, without overflowing for long times. */
static __always_inline __u64 bytes_in(__u64 r, __u64 t)
{
	return (t / NSEC_PER_SEC) * r + ((t % NSEC_PER_SEC) * r) / NSEC_PER_SEC;
}

SEC("qdisc/init")
int tbf_init(struct sch_bpf_ctx *ctx)
{
	__u64 lim;

	if (rate == 0) {
		bpf_printk("tbf: rate is required (bytes per second, non-zero)");
		return 1;
	}
	if (burst == 0) {
		bpf_printk("tbf: burst is required (bytes, non-zero)");
		return 1;
	}
	if (limit == 0 && latency == 0) {
		bpf_printk("tbf: either limit or latency is required");
		return 1;
	}
	if (peakrate && peakrate <= rate) {
		bpf_printk("tbf: peakrate %llu must exceed rate %llu", peakrate, rate);
		return 1;
	}
	if (peakrate && mtu == 0) {
		bpf_printk("tbf: mtu is required with peakrate");
		return 1;
	}

	buffer_ns = l2t_ns(rate, burst);
	max_size = burst;
	mtu_ns = 0;
	if (peakrate) {
		mtu_ns = l2t_ns(peakrate, mtu);
		if (mtu < max_size)
			max_size = mtu;
	}

	lim = limit;
	if (lim == 0) { /* tc: limit = rate * latency + burst, or the peak's if smaller */
		lim = bytes_in(rate, latency) + burst;
		if (peakrate) {
			__u64 lim2 = bytes_in(peakrate, latency) + mtu;

			if (lim2 < lim)
				lim = lim2;
		}
		if (lim > 0xffffffffULL)
			lim = 0xffffffffULL;
	}
	byte_limit = lim;

	tokens = buffer_ns;
	ptokens = mtu_ns;
	t_c = bpf_ktime_get_ns();
	backlog = 0;
	head_len = 0;
	return 0;
}

SEC("qdisc/enqueue")
int tbf_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 len = ctx->skb->wire_len; /* qdisc_pkt_len: a GSO bundle counts every segment */

	/* Linux segments an oversized GSO packet; a program cannot: drop. */
	if (len > max_size)
		return SCH_BPF_DROP;
	if (backlog + len > byte_limit) /* bfifo */
		return SCH_BPF_DROP;
	if (bpf_skb_queue_push(&queue, skb_ref(ctx->skb), 0))
		return SCH_BPF_DROP;
	backlog += len;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int tbf_dequeue(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *skb = NULL;
	struct held *h;
	__u32 key = 0, len;
	__s64 toks, ptoks = 0;
	__u64 now;

	ctx->skb = NULL;
	h = bpf_map_lookup_elem(&head, &key);
	if (!h)
		return SCH_BPF_DEQUEUED;
	if (head_len) {
		len = head_len;
	} else {
		skb = bpf_skb_queue_pop(&queue);
		if (!skb)
			return SCH_BPF_DEQUEUED; /* empty */
		len = ((struct __sk_buff *)skb)->wire_len;
	}

	now = bpf_ktime_get_ns();
	toks = (__s64)(now - t_c);
	if (toks > buffer_ns)
		toks = buffer_ns;
	if (peakrate) {
		ptoks = toks + ptokens;
		if (ptoks > mtu_ns)
			ptoks = mtu_ns;
		ptoks -= l2t_ns(peakrate, len);
	}
	toks += tokens;
	if (toks > buffer_ns)
		toks = buffer_ns;
	toks -= l2t_ns(rate, len);

	if ((toks | ptoks) >= 0) {
		t_c = now;
		tokens = toks;
		ptokens = ptoks;
		backlog -= len;
		if (!skb) {
			skb = bpf_kptr_xchg(&h->skb, NULL);
			head_len = 0;
		}
		ctx->skb = skb_view(skb);
		return SCH_BPF_DEQUEUED;
	}

	/* Not yet: keep the packet at the head and sleep until the buckets hold enough. */
	if (skb) {
		skb = bpf_kptr_xchg(&h->skb, skb);
		if (skb) /* cannot happen: the slot was empty */
			bpf_skb_release(skb);
		head_len = len;
	}
	ctx->delay = (__u64)(-toks > -ptoks ? -toks : -ptoks);
	overlimits++;
	return SCH_BPF_THROTTLE;
}

char LICENSE[] SEC("license") = "GPL";
