/* fq_codel: Linux's sch_fq_codel as a bpfq program. Packets are hashed into `flows` buckets;
 * each bucket is a FIFO with its own CoDel state (bpfq/bpf/codel.h); a deficit round robin
 * serves new flows before old ones. When the qdisc holds more than `limit` packets or
 * `memory_limit` bytes, up to `drop_batch` packets (at least half its bytes) are dropped from the
 * head of the flow with the largest backlog.
 *
 * Parameters (tc names; times in ns): limit (packets, 10240), flows (1024, at most 65536),
 * target (5 ms), interval (100 ms), quantum (bytes, 1514; at least 256), ecn (0/1, 1),
 * ce_threshold (ns, 0 = off), memory_limit (bytes, 32 MiB; counted as packet lengths),
 * drop_batch (packets, 64), mtu (bytes, 1514: CoDel's backlog floor, psched_mtu).
 * Statistics (tc -s xstats): maxpacket, drop_overlimit, ecn_mark, new_flow_count, ce_mark,
 * memory_usage, drop_overmemory, new_flows_len, old_flows_len; plus codel_drops (packets CoDel
 * dropped at dequeue) and xmit_cn (enqueues for which Linux returns NET_XMIT_CN, see
 * docs/qdiscs/fq_codel.md).
 *
 * Layout: a packet sits in a slot (an ARRAY element holding its reference, length, enqueue time
 * and the next slot of its flow); a flow (an element of a .bss array) holds its FIFO's head and tail slot,
 * its list link, deficit, backlog and CoDel state. Links are index + 1, so 0 means none and the
 * zeroed memory needs no initialisation. No path scans the flows except the overlimit drop, which
 * searches for the fattest flow as Linux does. */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/codel.h>

#define MAX_FLOWS 65536   /* Linux's limit for `flows` */
#define MAX_SLOTS 65536   /* packets held at once: limit + the one being enqueued */
#define MAX_DEQUEUE_ROUNDS (4 * MAX_FLOWS) /* bound of the flow selection loop */
#define EINVAL 22

const volatile bpfq_count limit = 10240;
const volatile bpfq_count flows = 1024;
const volatile bpfq_time_ns target = 5000000ULL;
const volatile bpfq_time_ns interval = 100000000ULL;
const volatile bpfq_size_bytes quantum = 1514;
const volatile bpfq_count ecn = 1;
const volatile bpfq_time_ns ce_threshold = 0;
const volatile bpfq_size_bytes memory_limit = 32U << 20;
const volatile bpfq_count drop_batch = 64;
const volatile bpfq_size_bytes mtu = 1514;

struct slot {
	struct sk_buff __kptr_ref *skb;
	__u64 enqueue_ns;
	__u32 len;
	__u32 next; /* next slot of the same flow, + 1 */
};

enum { LIST_NONE, LIST_NEW, LIST_OLD };

struct flow {
	__u32 head;    /* first slot + 1; 0: empty */
	__u32 tail;    /* last slot + 1 */
	__u32 next;    /* next flow of its list + 1 */
	__u32 list;    /* LIST_NONE / LIST_NEW / LIST_OLD */
	__s32 deficit; /* bytes it may still send this round */
	__u32 backlog; /* bytes queued */
	struct codel_vars cvars;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct slot);
} slots SEC(".maps");

/* The packet a dequeue found, between its bpf_loop callback and the program. */
struct parked {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct parked);
} handout SEC(".maps");

/* Flows live in .bss rather than in a map: reached without a helper call, and a pointer to one
 * stays valid however many map values a run looks up (the checked interpreter keeps only the
 * most recent 64 lookups accessible). */
struct flow flow_table[MAX_FLOWS];

/* Derived from the parameters by qdisc/init (Linux clamps them the same way). */
struct codel_params cparams;
__u32 quantum_bytes;   /* max(256, quantum) */
__u32 batch;           /* max(1, drop_batch) */
__u32 memory_cap;      /* min(2^31, memory_limit) */

/* The round robin lists (flow index + 1). */
__u32 new_head, new_tail, old_head, old_tail;

__u32 qlen;    /* packets queued */
__u32 backlog; /* bytes queued (Linux sch->qstats.backlog, CoDel's mtu check) */

/* tc -s xstats */
__u32 maxpacket;
__u32 drop_overlimit;
__u32 ecn_mark;
__u32 new_flow_count;
__u32 ce_mark;
__u32 memory_usage;
__u32 drop_overmemory;
__u32 new_flows_len;
__u32 old_flows_len;
__u32 codel_drops;
__u32 xmit_cn;

SEC("qdisc/init")
int fq_codel_init(struct sch_bpf_ctx *ctx)
{
	if (flows == 0 || flows > MAX_FLOWS || limit >= MAX_SLOTS || quantum > (1U << 20))
		return -EINVAL;
	codel_params_set(&cparams, target, interval, ce_threshold, mtu, ecn);
	quantum_bytes = quantum < 256 ? 256 : quantum;
	batch = drop_batch ? drop_batch : 1;
	memory_cap = memory_limit > (1U << 31) ? (1U << 31) : memory_limit;
	return 0;
}

/* ---- slots ---- */

#include <bpfq/bpf/slot_list.h>

/* ---- flow lists ---- */

static __always_inline struct flow *flow_get(__u32 idx)
{
	return &flow_table[idx & (MAX_FLOWS - 1)]; /* idx < flows <= MAX_FLOWS, a power of two */
}

static __always_inline void list_append(__u32 which, __u32 idx, struct flow *f)
{
	__u32 *head = which == LIST_NEW ? &new_head : &old_head;
	__u32 *tail = which == LIST_NEW ? &new_tail : &old_tail;
	struct flow *last;

	f->next = 0;
	f->list = which;
	if (*tail) {
		last = flow_get(*tail - 1);
		last->next = idx + 1;
	} else {
		*head = idx + 1;
	}
	*tail = idx + 1;
	if (which == LIST_NEW)
		new_flows_len++;
	else
		old_flows_len++;
}

/* Unlinks f, the head of list `which`. */
static __always_inline void list_pop_head(__u32 which, struct flow *f)
{
	if (which == LIST_NEW) {
		new_head = f->next;
		if (!new_head)
			new_tail = 0;
		new_flows_len--;
	} else {
		old_head = f->next;
		if (!old_head)
			old_tail = 0;
		old_flows_len--;
	}
	f->next = 0;
	f->list = LIST_NONE;
}

/* ---- enqueue ---- */

/* Linux fq_codel_classify without filters: skb->priority naming this qdisc's major and a minor
 * in 1..flows picks flow minor - 1; otherwise reciprocal_scale(skb hash, flows). */
static __always_inline __u32 classify(struct sch_bpf_ctx *ctx)
{
	__u32 prio = ctx->skb->priority;
	__u32 minor = prio & 0xffff;

	if ((prio & 0xffff0000) == (ctx->classid & 0xffff0000) && minor > 0 && minor <= flows)
		return minor - 1;
	return ((__u64)bpf_skb_get_hash(skb_ref(ctx->skb)) * flows) >> 32;
}

struct fattest {
	__u32 maxbacklog;
	__u32 idx;
};

/* One step of the search for the first flow with the largest backlog, as Linux's linear search. */
static long find_fattest(__u32 k, struct fattest *fs)
{
	struct flow *f;

	if (k >= flows)
		return 1;
	f = flow_get(k);
	if (f->backlog > fs->maxbacklog) {
		fs->maxbacklog = f->backlog;
		fs->idx = k;
	}
	return 0;
}

struct head_drop {
	__u32 idx;         /* the flow dropped from */
	__u32 max_packets;
	__u32 threshold;   /* stop once this many bytes are gone */
	__u32 offered;     /* slot of the packet being enqueued */
	__u32 offered_dropped;
	__u32 len;         /* bytes dropped */
	__u32 count;       /* packets dropped */
};

/* Drops the head packet of the flow; 1 when the flow is empty or the batch is done. */
static long drop_head(__u32 k, struct head_drop *d)
{
	struct flow *f = flow_get(d->idx);
	__u32 link = f->head;
	struct sk_buff *skb;
	struct slot *s;

	if (!link)
		return 1;
	s = slot_get(link);
	if (!s)
		return 1;
	f->head = s->next;
	if (!f->head)
		f->tail = 0;
	d->len += s->len;
	if (link == d->offered)
		d->offered_dropped = 1;
	skb = bpf_kptr_xchg(&s->skb, NULL);
	slot_free(link, s);
	if (skb)
		bpf_skb_release(skb);
	return !(++d->count < d->max_packets && d->len < d->threshold);
}

/* Linux fq_codel_drop(): drops from the head of the flow with the largest backlog until half of
 * that backlog or max_packets packets are gone; returns the flow's index. *offered_dropped says
 * whether the packet in slot `offered` (the one being enqueued) was among them. */
static __always_inline __u32 drop_from_fattest(__u32 max_packets, __u32 offered, int *offered_dropped)
{
	struct fattest fs = {};
	struct head_drop d = {};
	struct flow *f;

	bpf_loop(MAX_FLOWS, find_fattest, &fs, 0);
	d.idx = fs.idx;
	d.max_packets = max_packets;
	d.threshold = fs.maxbacklog >> 1;
	d.offered = offered;
	bpf_loop(MAX_SLOTS, drop_head, &d, 0);
	if (d.offered_dropped)
		*offered_dropped = 1;
	f = flow_get(d.idx);
	f->cvars.count += d.count; /* as Linux: a stronger CoDel signal for a flow that overflowed */
	f->backlog -= d.len;
	backlog -= d.len;
	memory_usage -= d.len;
	qlen -= d.count;
	return d.idx;
}

SEC("qdisc/enqueue")
int fq_codel_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 idx = classify(ctx);
	__u32 len = ctx->skb->wire_len;
	__u32 link, prev_qlen, dropped, fat;
	int memory_limited, offered_dropped = 0;
	struct flow *f;
	struct slot *s, *last;

	f = flow_get(idx);
	s = slot_put_skb(ctx->skb, &link);
	if (!s)
		return SCH_BPF_DROP;
	s->enqueue_ns = bpf_ktime_get_ns();
	s->len = len;
	s->next = 0;

	/* flow_queue_add */
	if (f->tail) {
		last = slot_get(f->tail);
		if (last)
			last->next = link;
	} else {
		f->head = link;
	}
	f->tail = link;
	f->backlog += len;
	backlog += len;
	if (f->list == LIST_NONE) {
		list_append(LIST_NEW, idx, f);
		new_flow_count++;
		f->deficit = quantum_bytes;
	}
	memory_usage += len;
	memory_limited = memory_usage > memory_cap;
	if (++qlen <= limit && !memory_limited)
		return SCH_BPF_QUEUED;

	prev_qlen = qlen;
	fat = drop_from_fattest(batch, link, &offered_dropped);
	dropped = prev_qlen - qlen;
	drop_overlimit += dropped;
	if (memory_limited)
		drop_overmemory += dropped;
	if (fat != idx)
		return SCH_BPF_QUEUED; /* Linux: NET_XMIT_SUCCESS */
	/* Linux: NET_XMIT_CN. bpfq's CN means "the offered packet was dropped", so it is only
	 * returned when that is true; a head drop from the packet's own flow leaves it queued. */
	xmit_cn++;
	return offered_dropped ? SCH_BPF_CN : SCH_BPF_QUEUED;
}

/* ---- dequeue ---- */

struct pop_ctx {
	struct flow *flow;
	__u32 len; /* length of the last packet popped */
};

static __always_inline struct sk_buff *pop_head(void *arg, __u32 *len, __u64 *enqueue_ns)
{
	struct pop_ctx *c = arg;
	struct flow *f = c->flow;
	__u32 link = f->head;
	struct sk_buff *skb;
	struct slot *s;

	if (!link)
		return NULL;
	s = slot_get(link);
	if (!s)
		return NULL;
	skb = bpf_kptr_xchg(&s->skb, NULL);
	f->head = s->next;
	if (!f->head)
		f->tail = 0;
	*len = s->len;
	*enqueue_ns = s->enqueue_ns;
	c->len = s->len;
	f->backlog -= s->len;
	backlog -= s->len;
	memory_usage -= s->len;
	qlen--;
	slot_free(link, s);
	return skb;
}

static __always_inline void drop_packet(void *arg, struct sk_buff *skb)
{
	bpf_skb_release(skb); /* counted by the engine as dropped by the program */
	codel_drops++;
}

/* One round of Linux's fq_codel_dequeue loop ("goto begin") on the head of the new, else the
 * old, flows: 1 when a packet is found or both lists are empty. A callback may not hold a
 * reference past its return, so the packet found waits in `handout`. */
static long dequeue_round(__u32 round, __u64 *now)
{
	struct codel_stats st = {};
	struct pop_ctx pc = {};
	struct sk_buff *skb;
	struct parked *p;
	__u32 which, idx, key = 0;
	struct flow *f;

	if (new_head) {
		which = LIST_NEW;
		idx = new_head - 1;
	} else if (old_head) {
		which = LIST_OLD;
		idx = old_head - 1;
	} else {
		return 1; /* empty */
	}
	f = flow_get(idx);
	if (f->deficit <= 0) {
		/* Round used up: a new quantum, to the back of the old flows. */
		f->deficit += quantum_bytes;
		list_pop_head(which, f);
		list_append(LIST_OLD, idx, f);
		return 0;
	}
	pc.flow = f;
	skb = codel_dequeue(&pc, &backlog, &cparams, &f->cvars, &st, *now, pop_head, drop_packet);
	if (st.maxpacket > maxpacket)
		maxpacket = st.maxpacket;
	ecn_mark += st.ecn_mark;
	ce_mark += st.ce_mark;
	if (!skb) {
		/* An empty new flow passes through the old list once, so that a flow
		 * sending one packet at a time cannot starve the old flows. */
		list_pop_head(which, f);
		if (which == LIST_NEW && old_head)
			list_append(LIST_OLD, idx, f);
		return 0;
	}
	f->deficit -= pc.len;
	/* Looked up after the drops: each looks up a slot, and the checked interpreter keeps only
	 * the most recent lookups accessible. */
	p = bpf_map_lookup_elem(&handout, &key);
	if (!p) { /* cannot happen: element 0 of an ARRAY exists */
		bpf_skb_release(skb);
		return 1;
	}
	skb = bpf_kptr_xchg(&p->skb, skb);
	if (skb)
		bpf_skb_release(skb); /* none: fq_codel_dequeue always takes it out */
	return 1;
}

SEC("qdisc/dequeue")
int fq_codel_dequeue(struct sch_bpf_ctx *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	struct sk_buff *skb;
	struct parked *p;
	__u32 key = 0;

	ctx->skb = NULL;
	bpf_loop(MAX_DEQUEUE_ROUNDS, dequeue_round, &now, 0);
	p = bpf_map_lookup_elem(&handout, &key);
	if (!p)
		return SCH_BPF_DEQUEUED;
	skb = bpf_kptr_xchg(&p->skb, NULL);
	if (skb)
		ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
