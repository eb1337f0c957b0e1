/* carousel: Carousel's timing-wheel rate limiter (A. Saeed, N. Dukkipati, V. Valancius, V. The
 * Lam, C. Contavalli, A. Vahdat, "Carousel: Scalable Traffic Shaping at End Hosts", SIGCOMM
 * 2017). There is no Linux sch_carousel.c: this follows the paper.
 *
 * Every packet gets a release timestamp: its flow's rate limit spaces the flow's packets,
 * ts = max(now, skb->tstamp, next[flow]) and next[flow] = ts + len / rate_flow (no spacing when
 * the flow's rate is 0). The packet goes into the wheel slot floor(ts / granularity); a packet
 * whose slot is `slots` or more slots past now's (beyond the horizon, slots * granularity) is
 * dropped. Dequeue sends the packets of slots whose time has come (slot <= now / granularity),
 * earliest slot first and arrival order within a slot; when the earliest non-empty slot is in the
 * future it returns THROTTLE until that slot begins.
 *
 * The wheel is an RBTREE keyed by (absolute slot index, arrival number), big-endian: the same
 * order as the wheel's slots walked from now, and finding the next non-empty slot is O(log n)
 * instead of the paper's scan of empty slots. Flows are bpf_skb_get_hash; a flow's rate is
 * flow_rate[skb->priority] (bytes/s, HASH filled by user space), else `rate`.
 * Parameters: limit (packets, 10000), granularity (ns, 10us), slots (the horizon in slots,
 * 20000: 200 ms), rate (bytes/s, 0: unlimited). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpf/bpf_endian.h>

#define MAX_PACKETS 65536
#define MAX_FLOWS 65536
#define NSEC_PER_SEC 1000000000ULL
#define EINVAL 22

const volatile bpfq_count limit = 10000;
const volatile bpfq_time_ns granularity = 10000;
const volatile bpfq_count slots = 20000;
const volatile bpfq_rate_Bps rate = 0;

struct slot_key {
	__u64 slot_be;
	__u64 seq_be;
};

struct pkt {
	struct sk_buff __kptr_ref *skb;
	__u32 len;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, MAX_PACKETS);
	__type(key, struct slot_key);
	__type(value, struct pkt);
} wheel SEC(".maps");

/* Rates by skb->priority (bytes/s), filled by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, __u64);
} flow_rate SEC(".maps");

/* Next release time of each rate-limited flow. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, __u32);
	__type(value, __u64);
} flow_next SEC(".maps");

__u64 seq;
__u32 qlen;
__u32 backlog;
__u64 horizon_drops;

SEC("qdisc/init")
int carousel_init(struct sch_bpf_ctx *ctx)
{
	if (limit == 0 || limit >= MAX_PACKETS) {
		bpf_printk("carousel: limit %u not in 1..%u packets", limit, MAX_PACKETS - 1);
		return -EINVAL;
	}
	if (granularity == 0) {
		bpf_printk("carousel: granularity must be at least 1ns");
		return -EINVAL;
	}
	if (slots == 0) {
		bpf_printk("carousel: slots must be at least 1");
		return -EINVAL;
	}
	return 0;
}

/* The time len bytes take at r bytes/s. */
static __always_inline __u64 len_ns(__u64 r, __u32 len)
{
	return ((__u64)len * NSEC_PER_SEC) / r;
}

SEC("qdisc/enqueue")
int carousel_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u64 now = bpf_ktime_get_ns();
	__u32 len = skb->wire_len;
	__u32 prio = skb->priority;
	struct pkt empty = {.len = len}, *p;
	struct slot_key key;
	struct sk_buff *ref;
	__u64 ts = now, r = rate, *rp, *next = NULL, slot, nslot;
	__u32 h = 0;

	if (qlen >= limit)
		return SCH_BPF_DROP;
	rp = bpf_map_lookup_elem(&flow_rate, &prio);
	if (rp)
		r = *rp;
	if (skb->tstamp > ts)
		ts = skb->tstamp;
	if (r) {
		h = bpf_skb_get_hash(skb_ref(skb));
		next = bpf_map_lookup_elem(&flow_next, &h);
		if (next && *next > ts)
			ts = *next;
	}
	slot = ts / granularity;
	nslot = now / granularity;
	if (slot - nslot >= slots) {
		horizon_drops++;
		return SCH_BPF_DROP;
	}

	key.slot_be = bpf_cpu_to_be64(slot);
	key.seq_be = bpf_cpu_to_be64(seq);
	if (bpf_map_update_elem(&wheel, &key, &empty, BPF_NOEXIST))
		return SCH_BPF_DROP;
	p = bpf_map_lookup_elem(&wheel, &key);
	if (!p)
		return SCH_BPF_DROP;
	ref = bpf_skb_acquire(skb_ref(skb));
	if (!ref) {
		bpf_map_delete_elem(&wheel, &key);
		return SCH_BPF_DROP;
	}
	ref = bpf_kptr_xchg(&p->skb, ref);
	if (ref) /* cannot happen: the entry is new */
		bpf_skb_release(ref);
	if (r) {
		__u64 n = ts + len_ns(r, len);

		if (next)
			*next = n;
		else
			bpf_map_update_elem(&flow_next, &h, &n, BPF_ANY);
	}
	seq++;
	qlen++;
	backlog += len;
	return SCH_BPF_QUEUED;
}

struct head {
	struct slot_key key;
};

static long head_visit(void *map, struct slot_key *key, struct pkt *p, struct head *out)
{
	out->key = *key;
	return 1;
}

SEC("qdisc/dequeue")
int carousel_dequeue(struct sch_bpf_ctx *ctx)
{
	__u64 now = bpf_ktime_get_ns(), slot;
	struct head h = {};
	struct sk_buff *skb;
	struct pkt *p;

	ctx->skb = NULL;
	if (bpf_for_each_map_elem(&wheel, head_visit, &h, 0) <= 0)
		return SCH_BPF_DEQUEUED;
	slot = bpf_be64_to_cpu(h.key.slot_be);
	if (slot > now / granularity) {
		ctx->delay = slot * granularity - now; /* until the slot begins */
		return SCH_BPF_THROTTLE;
	}
	p = bpf_map_lookup_elem(&wheel, &h.key);
	if (!p)
		return SCH_BPF_DEQUEUED;
	backlog -= p->len;
	skb = bpf_kptr_xchg(&p->skb, NULL);
	bpf_map_delete_elem(&wheel, &h.key);
	qlen--;
	if (skb)
		ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
