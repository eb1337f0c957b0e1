/* sfq (Linux net/sched/sch_sfq.c): Stochastic Fairness Queueing. A packet's flow hash, mixed
 * with a perturbation, picks one of `divisor` buckets; a bucket in use owns one of `flows`
 * slots (per-flow FIFOs). Backlogged slots are served round robin, each sending while its
 * allotment is positive and earning `quantum` bytes when it is not. A slot holds at most `depth`
 * packets (tail drop); above `limit` packets in all, the tail packet of the longest slot is
 * dropped (the slot that reached that length last), as sfq_drop() does.
 *
 * Classification, as sfq_classify(): skb->priority major:minor of this qdisc with minor in
 * 1..divisor -> bucket minor-1; else the qdisc's filters (bpf_skb_tc_classify): minor in
 * 1..divisor -> bucket minor-1; else the hash.
 *
 * A new perturbation (every `perturb` ns, at the next enqueue) rehashes the queued packets into
 * the slots of their new hash, as sfq_rehash(), so flows stay in order.
 *
 * Packets are kptrs in a hash map keyed by (slot, per-slot sequence number): a slot's FIFO is
 * [head, tail), so enqueue, dequeue and tail drop are exact lookups.
 * Parameters: limit (packets, 127), depth (packets per flow, 127), flows (128, at most 1024),
 * divisor (1024, a power of two up to 65536), quantum (bytes, 1514 = psched_mtu), perturb
 * (nanoseconds between new perturbations, 0 = never). */
#include <bpfq/bpf/sch_bpf.h>

#define MAX_FLOWS 1024
#define MAX_DIVISOR 65536
#define MAX_DEPTH 127 /* SFQ_MAX_DEPTH */
#define NO_SLOT 0xffffffffu

const volatile bpfq_count limit = MAX_DEPTH;
const volatile bpfq_count depth = MAX_DEPTH;
const volatile bpfq_count flows = 128;
const volatile bpfq_count divisor = 1024;
const volatile bpfq_size_bytes quantum = 1514;
const volatile bpfq_time_ns perturb = 0;

struct slot {
	__u64 head, tail;   /* the slot's packets are seq numbers [head, tail) */
	__u32 qlen;
	__u32 bucket;       /* the hash bucket that owns the slot */
	__s32 allot;
	__u32 next;         /* round-robin successor (a ring through `rr_tail`) */
	__u64 depth_stamp;  /* when qlen last changed: ties among the longest slots go to the latest */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_FLOWS);
	__type(key, __u32);
	__type(value, struct slot);
} slots SEC(".maps");

/* bucket -> slot + 1 (0: no slot), Linux's q->ht. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_DIVISOR);
	__type(key, __u32);
	__type(value, __u32);
} buckets SEC(".maps");

struct pkt_key {
	__u32 slot;
	__u32 pad;
	__u64 seq;
};

struct pkt {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pkt_key);
	__type(value, struct pkt);
} packets SEC(".maps");

/* Effective parameters (sfq_change clamps them) and the state of the scheduler. */
__u32 eff_limit, eff_depth, eff_flows;
__u32 rr_tail = NO_SLOT; /* the slot served last; rr_tail->next is served next */
__u32 qlen;
__u64 stamp;
__u32 perturbation;
__u64 next_perturb_ns;

SEC("qdisc/init")
int sfq_init(struct sch_bpf_ctx *ctx)
{
	if (!quantum || divisor == 0 || divisor > MAX_DIVISOR || (divisor & (divisor - 1)) ||
	    flows == 0 || flows > MAX_FLOWS)
		return -22;
	eff_depth = depth < MAX_DEPTH ? depth : MAX_DEPTH;
	eff_flows = flows < divisor ? flows : divisor;
	eff_limit = limit;
	if (eff_limit > eff_depth * eff_flows)
		eff_limit = eff_depth * eff_flows;
	if (eff_limit <= 1) /* Linux refuses a limit of 1 (sfq_drop needs two packets) */
		return -22;
	rr_tail = NO_SLOT;
	perturbation = bpf_get_prandom_u32();
	next_perturb_ns = perturb ? bpf_ktime_get_ns() + perturb : 0;
	return 0;
}

/* sfq_hash(): the flow hash mixed with the perturbation, modulo the divisor. */
static __u32 hash_bucket(struct sk_buff *skb)
{
	__u32 h = (bpf_skb_get_hash(skb) ^ perturbation) * 0x9e3779b1u;

	return (h ^ (h >> 16)) & (divisor - 1);
}

static __u32 bucket_of(struct __sk_buff *skb, __u32 handle)
{
	__u32 prio = skb->priority, minor;

	if ((prio & 0xffff0000) == handle && (prio & 0xffff) >= 1 && (prio & 0xffff) <= divisor)
		return (prio & 0xffff) - 1;
	minor = bpf_skb_tc_classify(skb, skb->ifindex, handle) & 0xffff;
	if (minor >= 1 && minor <= divisor)
		return minor - 1;
	return hash_bucket(skb_ref(skb));
}

static void touch(struct slot *s, __s32 delta)
{
	s->qlen += delta;
	s->depth_stamp = ++stamp;
}

/* Takes the packet at (slot, seq) out of the map; the caller owns the reference. */
static struct sk_buff *take(__u32 slot, __u64 seq)
{
	struct pkt_key key = {.slot = slot, .seq = seq};
	struct pkt *p = bpf_map_lookup_elem(&packets, &key);
	struct sk_buff *skb;

	if (!p)
		return NULL;
	skb = bpf_kptr_xchg(&p->skb, NULL);
	bpf_map_delete_elem(&packets, &key);
	return skb;
}

struct free_search {
	__u32 found;
};

static long find_free(__u32 i, struct free_search *fs)
{
	struct slot *s = bpf_map_lookup_elem(&slots, &i);

	if (i >= eff_flows)
		return 1;
	if (s && s->qlen == 0) {
		fs->found = i;
		return 1;
	}
	return 0;
}

struct longest {
	__u32 slot, qlen;
	__u64 stamp;
};

static long find_longest(__u32 i, struct longest *l)
{
	struct slot *s = bpf_map_lookup_elem(&slots, &i);

	if (i >= eff_flows)
		return 1;
	if (s && (s->qlen > l->qlen || (s->qlen == l->qlen && s->qlen && s->depth_stamp > l->stamp))) {
		l->slot = i;
		l->qlen = s->qlen;
		l->stamp = s->depth_stamp;
	}
	return 0;
}

/* sfq_drop(): drops the tail of the longest slot (with all slots at one packet, the packet of
 * the slot served next, which then leaves the ring). Returns the slot it dropped from. */
static __u32 drop_one(struct sk_buff **dropped)
{
	struct longest l = {NO_SLOT, 0, 0};
	struct slot *s, *t;
	__u32 victim;

	*dropped = NULL;
	bpf_loop(MAX_FLOWS, find_longest, &l, 0);
	if (l.qlen == 0)
		return NO_SLOT;
	victim = l.slot;
	if (l.qlen == 1) {
		t = bpf_map_lookup_elem(&slots, &rr_tail);
		if (!t)
			return NO_SLOT;
		victim = t->next;
	}
	s = bpf_map_lookup_elem(&slots, &victim);
	if (!s)
		return NO_SLOT;
	if (l.qlen == 1) { /* unlink it from the ring and free its bucket */
		__u32 none = 0, bucket = s->bucket;

		t = bpf_map_lookup_elem(&slots, &rr_tail);
		if (t)
			t->next = s->next;
		bpf_map_update_elem(&buckets, &bucket, &none, BPF_ANY);
	}
	s->tail--;
	touch(s, -1);
	qlen--;
	*dropped = take(victim, s->tail);
	return victim;
}

/* The slot of a bucket, claiming a free one for a new flow; NO_SLOT if none is free. */
static __u32 slot_of_bucket(__u32 bucket)
{
	struct free_search fs = {NO_SLOT};
	__u32 *owner = bpf_map_lookup_elem(&buckets, &bucket);
	struct slot *s;

	if (!owner)
		return NO_SLOT;
	if (*owner)
		return *owner - 1;
	bpf_loop(MAX_FLOWS, find_free, &fs, 0);
	s = bpf_map_lookup_elem(&slots, &fs.found);
	if (!s)
		return NO_SLOT;
	*owner = fs.found + 1;
	s->bucket = bucket;
	return fs.found;
}

/* Appends a packet reference to slot x (a new flow joins the ring's tail with a full
 * allotment). Consumes the reference: on failure it is released and -1 returned. */
static int push_packet(__u32 x, struct sk_buff *ref)
{
	struct pkt_key key = {.slot = x};
	struct pkt empty = {}, *p;
	struct slot *s = bpf_map_lookup_elem(&slots, &x);

	if (!s) {
		bpf_skb_release(ref);
		return -1;
	}
	key.seq = s->tail;
	if (bpf_map_update_elem(&packets, &key, &empty, BPF_NOEXIST) ||
	    !(p = bpf_map_lookup_elem(&packets, &key))) {
		bpf_skb_release(ref);
		return -1;
	}
	ref = bpf_kptr_xchg(&p->skb, ref);
	if (ref)
		bpf_skb_release(ref);
	s->tail++;
	touch(s, 1);
	if (s->qlen == 1) {
		struct slot *t = bpf_map_lookup_elem(&slots, &rr_tail);

		if (t) {
			s->next = t->next;
			t->next = x;
		} else {
			s->next = x;
		}
		rr_tail = x;
		s->allot = quantum;
	}
	return 0;
}

/* ---- sfq_rehash(): after a new perturbation, every queued packet moves to the slot of its new
 * hash, slot by slot in index order, each slot's packets in order. Packets wait meanwhile
 * under REHASH_SLOT, sequence 0.. . ---- */

#define REHASH_SLOT 0xfffffffeu

struct rehash {
	__u64 parked; /* packets moved under REHASH_SLOT */
};

static long park_slot(__u32 i, struct rehash *r)
{
	struct slot *s = bpf_map_lookup_elem(&slots, &i);
	__u32 none = 0, bucket;

	if (i >= eff_flows)
		return 1;
	if (!s || s->qlen == 0)
		return 0;
	for (int j = 0; j < MAX_DEPTH && s->head != s->tail; j++) {
		struct sk_buff *skb = take(i, s->head);
		struct pkt_key key = {.slot = REHASH_SLOT, .seq = r->parked};
		struct pkt empty = {}, *p;

		s->head++;
		if (!skb)
			continue;
		if (bpf_map_update_elem(&packets, &key, &empty, BPF_NOEXIST) ||
		    !(p = bpf_map_lookup_elem(&packets, &key))) {
			bpf_skb_release(skb);
			qlen--;
			continue;
		}
		skb = bpf_kptr_xchg(&p->skb, skb);
		if (skb)
			bpf_skb_release(skb);
		r->parked++;
	}
	bucket = s->bucket;
	bpf_map_update_elem(&buckets, &bucket, &none, BPF_ANY);
	s->head = s->tail = 0;
	s->qlen = 0;
	return 0;
}

static long unpark_packet(__u32 n, struct rehash *r)
{
	struct sk_buff *skb;
	struct slot *s;
	__u32 x;

	if (n >= r->parked)
		return 1;
	skb = take(REHASH_SLOT, n);
	if (!skb)
		return 0;
	x = slot_of_bucket(hash_bucket(skb)); /* by hash only, as sfq_rehash */
	s = bpf_map_lookup_elem(&slots, &x);
	if (!s || s->qlen >= eff_depth) { /* no free slot, or the slot is full: dropped */
		bpf_skb_release(skb);
		qlen--;
		return 0;
	}
	if (push_packet(x, skb))
		qlen--;
	return 0;
}

static void rehash(void)
{
	struct rehash r = {};

	bpf_loop(MAX_FLOWS, park_slot, &r, 0);
	rr_tail = NO_SLOT;
	bpf_loop(MAX_FLOWS * MAX_DEPTH, unpark_packet, &r, 0);
}

SEC("qdisc/enqueue")
int sfq_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	struct sk_buff *ref, *dropped;
	struct slot *s;
	__u32 x, dropped_from;

	if (perturb && bpf_ktime_get_ns() >= next_perturb_ns) {
		perturbation = bpf_get_prandom_u32();
		next_perturb_ns = bpf_ktime_get_ns() + perturb;
		if (rr_tail != NO_SLOT)
			rehash();
	}
	x = slot_of_bucket(bucket_of(skb, ctx->classid & 0xffff0000));
	s = bpf_map_lookup_elem(&slots, &x);
	if (!s)
		return SCH_BPF_DROP; /* no free slot for a new flow */
	if (s->qlen >= eff_depth)
		return SCH_BPF_DROP;
	ref = bpf_skb_acquire(skb_ref(skb));
	if (!ref || push_packet(x, ref))
		return SCH_BPF_DROP;
	if (++qlen <= eff_limit)
		return SCH_BPF_QUEUED;
	dropped_from = drop_one(&dropped);
	if (dropped) {
		if (dropped_from == x && skb_view(dropped) == skb) {
			/* our own packet: not queued after all, dropped as congestion (NET_XMIT_CN) */
			bpf_skb_release(dropped);
			return SCH_BPF_CN;
		}
		bpf_skb_release(dropped); /* counted as a drop of a queued packet */
	}
	return SCH_BPF_QUEUED;
}

struct turn {
	__u32 slot; /* the slot to send from, or NO_SLOT */
};

/* One step of sfq_dequeue's next_slot loop. */
static long sfq_turn(__u32 i, struct turn *turn)
{
	struct slot *t = bpf_map_lookup_elem(&slots, &rr_tail);
	struct slot *s;
	__u32 a;

	if (!t)
		return 1;
	a = t->next;
	s = bpf_map_lookup_elem(&slots, &a);
	if (!s)
		return 1;
	if (s->allot <= 0) {
		rr_tail = a;
		s->allot += quantum;
		return 0;
	}
	turn->slot = a;
	return 1;
}

SEC("qdisc/dequeue")
int sfq_dequeue(struct sch_bpf_ctx *ctx)
{
	struct turn turn = {NO_SLOT};
	struct sk_buff *skb;
	struct slot *s, *t;
	__u32 a;

	ctx->skb = NULL;
	if (rr_tail == NO_SLOT)
		return SCH_BPF_DEQUEUED;
	/* Bounded: each step without a packet adds a quantum (>= 1 byte) to a slot. */
	bpf_loop(1 << 23, sfq_turn, &turn, 0);
	a = turn.slot;
	s = bpf_map_lookup_elem(&slots, &a);
	if (!s)
		return SCH_BPF_DEQUEUED;
	skb = take(a, s->head);
	if (!skb)
		return SCH_BPF_DEQUEUED;
	s->head++;
	touch(s, -1);
	qlen--;
	if (s->qlen == 0) { /* the slot leaves the ring and frees its bucket */
		__u32 none = 0, bucket = s->bucket;

		bpf_map_update_elem(&buckets, &bucket, &none, BPF_ANY);
		if (s->next == a) {
			rr_tail = NO_SLOT;
		} else {
			t = bpf_map_lookup_elem(&slots, &rr_tail);
			if (t)
				t->next = s->next;
		}
	} else {
		s->allot -= skb_view(skb)->wire_len;
	}
	ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
