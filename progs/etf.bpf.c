/* etf (Linux net/sched/sch_etf.c): Earliest TxTime First. Every packet carries its transmit
 * time in skb->tstamp (the sender's SO_TXTIME, or a clsact program in bpfq); etf sends them in
 * txtime order, each no sooner than `delta` before its txtime, and drops the ones that can no
 * longer make it.
 *
 * How Linux does it, and this program too:
 *   - enqueue (etf_enqueue_timesortedlist, is_packet_valid): a packet whose txtime is before
 *     now, or before the txtime of the last packet dequeued, is dropped; otherwise it joins the
 *     time-sorted queue (after the packets of equal txtime).
 *   - dequeue (etf_dequeue_timesortedlist): if the earliest packet's txtime is before now it has
 *     expired in the queue: it and every packet with txtime <= now are dropped. In
 *     deadline_mode the earliest packet leaves at once with its tstamp set to now. Otherwise it
 *     leaves once now > txtime - delta; before that, THROTTLE (Linux's watchdog, armed at
 *     txtime - delta: the first nanosecond at which its test passes is txtime - delta + 1).
 *   - the watchdog Linux re-arms after an expiry drop would dequeue the next packet at once;
 *     here the same dequeue goes on to the next packet.
 *
 * Packets are kept in an RBTREE keyed by big-endian (txtime, arrival sequence): the map's key
 * order is Linux's rbtree order.
 *
 * Parameters (tc's names):
 *   delta            ns before txtime a packet may leave (default 0; Linux's s32: at most 2^31-1)
 *   clockid          the clock txtimes are on: 11 (CLOCK_TAI, the only one Linux accepts),
 *                    which is bpfq's clock here (default 11)
 *   deadline_mode    flag: txtime is a deadline, send as soon as possible (default 0)
 *   offload          flag: hardware offload; refused (no hardware in software mode)
 *   skip_sock_check  flag: accepted; bpfq packets have no socket to check (see docs/qdiscs/etf.md) */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>

#define CAPACITY 65536
#define CLOCK_TAI 11
#define S32_MAX 0x7fffffffULL

const volatile bpfq_time_ns delta = 0;
const volatile bpfq_count clockid = CLOCK_TAI;
const volatile bpfq_count deadline_mode = 0;
const volatile bpfq_count offload = 0;
const volatile bpfq_count skip_sock_check = 0;

struct key {
	__u64 txtime_be; /* big-endian: the map's bytewise order is time order */
	__u64 seq_be;    /* arrival order among equal txtimes */
};

struct slot {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, CAPACITY);
	__type(key, struct key);
	__type(value, struct slot);
} queue SEC(".maps");

__u64 seq;      /* arrival counter */
__u64 last;     /* txtime of the last packet dequeued (q->last) */
__u64 invalid;  /* packets dropped at enqueue: txtime in the past or before `last` */
__u64 expired;  /* packets dropped at dequeue: txtime passed while queued (Linux's overlimits) */

SEC("qdisc/init")
int etf_init(struct sch_bpf_ctx *ctx)
{
	if (clockid != CLOCK_TAI) {
		bpf_printk("etf: invalid clockid %u: CLOCK_TAI (11) must be used", clockid);
		return -22;
	}
	if (delta > S32_MAX) {
		bpf_printk("etf: delta %llu ns does not fit Linux's s32", delta);
		return -22;
	}
	if (offload) {
		bpf_printk("etf: offload is not supported (software only)");
		return -95;
	}
	last = 0;
	return 0;
}

SEC("qdisc/enqueue")
int etf_enqueue(struct sch_bpf_ctx *ctx)
{
	struct slot empty = {};
	__u64 txtime = ctx->skb->tstamp;
	struct key k;

	/* is_packet_valid: no socket here, so only the time checks apply. */
	if (txtime < bpf_ktime_get_ns() || txtime < last) {
		invalid++;
		return SCH_BPF_DROP;
	}
	k.txtime_be = bpf_cpu_to_be64(txtime);
	k.seq_be = bpf_cpu_to_be64(seq);
	if (map_put_skb(&queue, &k, &empty, ctx->skb))
		return SCH_BPF_DROP; /* full */
	seq++;
	return SCH_BPF_QUEUED;
}

struct first {
	struct key key;
	__u32 found;
};

static long take_first(void *map, struct key *key, struct slot *s, struct first *out)
{
	out->key = *key;
	out->found = 1;
	return 1; /* stop after the minimum */
}

static __always_inline int peek(struct first *f)
{
	f->found = 0;
	bpf_for_each_map_elem(&queue, take_first, f, 0);
	return f->found;
}

/* One step of timesortedlist_drop: drops the earliest packet if its txtime is <= now. */
static long drop_expired(__u64 index, __u64 *now)
{
	struct first f;

	if (!peek(&f) || bpf_be64_to_cpu(f.key.txtime_be) > *now)
		return 1;
	bpf_map_delete_elem(&queue, &f.key); /* the map releases the packet: a drop */
	expired++;
	return 0;
}

SEC("qdisc/dequeue")
int etf_dequeue(struct sch_bpf_ctx *ctx)
{
	struct first f;
	struct slot *s;
	struct sk_buff *skb;
	__u64 now = bpf_ktime_get_ns(), txtime, next;

	ctx->skb = NULL;
	if (!peek(&f))
		return SCH_BPF_DEQUEUED; /* empty */
	txtime = bpf_be64_to_cpu(f.key.txtime_be);
	if (txtime < now) {
		bpf_loop(CAPACITY, drop_expired, &now, 0);
		if (!peek(&f))
			return SCH_BPF_DEQUEUED;
		txtime = bpf_be64_to_cpu(f.key.txtime_be); /* now > now: not expired */
	}
	if (!deadline_mode) {
		next = txtime > delta ? txtime - delta : 0;
		if (!(now > next)) {
			ctx->delay = next - now + 1; /* the first ns at which now > txtime - delta */
			return SCH_BPF_THROTTLE;
		}
	}
	s = bpf_map_lookup_elem(&queue, &f.key);
	if (!s)
		return SCH_BPF_DEQUEUED;
	skb = bpf_kptr_xchg(&s->skb, NULL);
	bpf_map_delete_elem(&queue, &f.key);
	if (!skb)
		return SCH_BPF_DEQUEUED;
	last = txtime;
	if (deadline_mode)
		skb_view(skb)->tstamp = now;
	ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
