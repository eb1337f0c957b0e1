/* htb (Linux net/sched/sch_htb.c): Hierarchical Token Bucket, a class tree in which every class
 * has a rate it may always send at (its own `tokens`) and a ceil it may reach by borrowing from
 * its ancestors (its `ctokens` bound every send, own or borrowed).
 *
 * Classes: user space lists them in the class_NAME maps (`tc class add ... classid 1:10 htb rate
 * 30mbit ceil 100mbit prio 0 parent 0x1`); every class has an entry in every map (0: default).
 * bpfq's tc model does not nest classes, so the tree is given by `class_parent`: the minor of
 * the parent class (tc writes minors in hex: 1:1 -> 0x1), 0 for a class directly under the
 * qdisc (a root class of Linux). At most 64 classes and a depth of 8 (TC_HTB_MAXDEPTH). Leaf
 * classes (no children) hold the packets in their child qdiscs; inner classes only lend.
 *
 * As Linux: tokens and ctokens are times (ns here; Linux's psched ticks), refilled by the time
 * since the class's last charge (capped at mbuffer, 60s) up to buffer/cbuffer (burst/cburst at
 * rate/ceil). A class's mode (htb_class_mode, no hysteresis as Linux's default):
 * HTB_CANT_SEND when ctokens < 0, else HTB_CAN_SEND when tokens >= 0, else HTB_MAY_BORROW.
 * A backlogged leaf sends through its first ancestor-or-self that is not MAY_BORROW if that one
 * is CAN_SEND (the lender); levels are Linux's (leaves 0, a root class 7, its children 6, ...).
 * Dequeue serves the lowest lender level first, then the lowest prio, then round robin by
 * classid among those leaves with DRR (htb_dequeue_tree: a leaf sends, deficit[level] -= len;
 * below 0 it gets a quantum and the pointer moves on). The charge (htb_charge_class) takes the
 * packet's time from tokens of the lender and its ancestors (classes below the lender only gain
 * the elapsed time) and from ctokens of every class on the path. When nothing can send, THROTTLE
 * until the earliest mode change of a class (Linux's wait queue and watchdog).
 *
 * Classification (htb_classify): skb->priority naming a leaf of this qdisc; else the filters
 * naming a leaf; else the `defcls` class (tc's `default`); else DROP (Linux: the direct queue).
 * Head lengths of the leaves come from a shadow FIFO of the lengths passed to each leaf, as drr,
 * trimmed to the child's queue length when a child dropped (sync_leaf).
 * Parameters: defcls (minor of the default class, 0: none), r2q (quantum = rate / r2q). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/class_table.h>
#include <bpfq/bpf/shadow_lengths.h>

#define MAX_CLASSES 64     /* a power of two: slot indices are masked with MAX_CLASSES - 1 */
#define MAX_DEPTH 8        /* TC_HTB_MAXDEPTH */
#define NUM_PRIO 8         /* TC_HTB_NUMPRIO */
#define MAX_PACKETS 65536
#define NO_SLOT 0xffffffffu
#define NSEC_PER_SEC 1000000000ULL
#define MBUFFER_NS (60 * NSEC_PER_SEC) /* Linux: cl->mbuffer = 60 * PSCHED_TICKS_PER_SEC */
#define DEFAULT_MTU 1600   /* tc's default mtu, from which it derives the default burst */

enum { HTB_CANT_SEND, HTB_MAY_BORROW, HTB_CAN_SEND };

const volatile __u32 defcls = 0; /* tc's `default`: the minor of the default class */
const volatile __u32 r2q = 10;   /* quantum = rate / r2q when a class gives none */

/* The class parameters, classid -> value; filled by user space (read-only for the program, so
 * a reset keeps them). */
#define CLASS_MAP(NAME, TYPE)                          \
	struct {                                       \
		__uint(type, BPF_MAP_TYPE_HASH);       \
		__uint(map_flags, BPF_F_RDONLY_PROG);  \
		__uint(max_entries, MAX_CLASSES);      \
		__type(key, __u32);                    \
		__type(value, TYPE);                   \
	} NAME SEC(".maps")

CLASS_MAP(class_rate, __u64);    /* bytes/s, required */
CLASS_MAP(class_ceil, __u64);    /* bytes/s, 0: rate */
CLASS_MAP(class_burst, __u32);   /* bytes, 0: tc's default rate/HZ + mtu (1600) */
CLASS_MAP(class_cburst, __u32);  /* bytes, 0: ceil/HZ + mtu */
CLASS_MAP(class_prio, __u32);    /* 0 (first) .. 7 */
CLASS_MAP(class_quantum, __u32); /* bytes, 0: rate / r2q clamped to [1000, 200000] */
CLASS_MAP(class_parent, __u32);  /* minor of the parent class, 0: under the qdisc */

struct htb_class {
	__u32 classid;
	__u32 parent;   /* slot of the parent, or NO_SLOT */
	__u32 level;    /* 0 for leaves; inner: MAX_DEPTH - 1 - depth */
	__u32 leaf;
	__u32 prio;
	__u32 quantum;
	__u32 mode;     /* computed at each dequeue */
	__u32 usable;   /* a leaf with a valid path to the top */
	__u64 rate;     /* bytes/s */
	__u64 ceil;
	__s64 buffer;   /* ns */
	__s64 cbuffer;
	__s64 tokens;
	__s64 ctokens;
	__u64 t_c;      /* time of the last charge */
	__u64 wait;     /* with mode != CAN_SEND: ns until the mode changes */
	__u64 head;     /* shadow FIFO of lengths: [head, tail) */
	__u64 tail;
	__s32 deficit[MAX_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct htb_class);
} classes SEC(".maps");

BPFQ_SHADOW_LENGTHS(lengths, MAX_PACKETS); /* the leaves' shadow FIFOs, by slot */

__u32 nclasses;
__u32 built;             /* the class table is built (at the first enqueue) */
__u64 qlen;              /* packets handed to leaves and not yet dequeued */
__u64 overlimits;
/* Round-robin pointer per (level, prio): the classid being served (Linux's ptr / last_ptr_id);
 * the next leaf is the first candidate with a classid >= it, wrapping around. */
__u32 rr_ptr[MAX_DEPTH * NUM_PRIO];

static __always_inline struct htb_class *slot_of(__u32 slot)
{
	return class_table_slot(&classes, slot, MAX_CLASSES);
}

/* psched_l2t_ns: the time len bytes take at r bytes/s (exact division here). */
static __always_inline __s64 l2t_ns(__u64 r, __u32 len)
{
	return r ? (__s64)(((__u64)len * NSEC_PER_SEC) / r) : 0;
}

/* ---- building the class table from the class maps ---- */

static long collect_class(void *map, __u32 *key, __u64 *rate, void *unused)
{
	struct htb_class *cl;
	__u32 classid = *key;
	__u64 ceil, q;
	__u32 burst, cburst, prio, *c8;

	cl = class_table_append(&classes, MAX_CLASSES, &nclasses, classid, sizeof(*cl));
	if (!cl)
		return 1;
	cl->parent = NO_SLOT;
	cl->rate = *rate;
	{
		__u64 *c = bpf_map_lookup_elem(&class_ceil, &classid);

		ceil = c ? *c : 0;
	}
	cl->ceil = ceil ? ceil : cl->rate;
	burst = class_param_u32(&class_burst, classid);
	cburst = class_param_u32(&class_cburst, classid);
	/* tc: buffer = rate / get_hz() + mtu, get_hz() being 10^9 with high-resolution timers. */
	if (!burst)
		burst = cl->rate / NSEC_PER_SEC + DEFAULT_MTU;
	if (!cburst)
		cburst = cl->ceil / NSEC_PER_SEC + DEFAULT_MTU;
	cl->buffer = l2t_ns(cl->rate, burst);
	cl->cbuffer = l2t_ns(cl->ceil, cburst);
	cl->tokens = cl->buffer;
	cl->ctokens = cl->cbuffer;
	cl->t_c = bpf_ktime_get_ns();
	prio = class_param_u32(&class_prio, classid);
	cl->prio = prio < NUM_PRIO ? prio : NUM_PRIO - 1; /* Linux clamps */
	q = class_param_u32(&class_quantum, classid);
	if (!q) { /* Linux: rate / r2q, clamped with a warning */
		q = cl->rate / r2q;
		if (q < 1000)
			q = 1000;
		if (q > 200000)
			q = 200000;
	}
	cl->quantum = q;
	cl->leaf = 1;
	if (cl->rate == 0)
		bpf_printk("htb: class %x has no rate; its packets are dropped", classid);
	return 0;
}

/* The slot of classid, or NO_SLOT. */
static __always_inline __u32 find_slot(__u32 classid)
{
	return class_table_find(&classes, nclasses, classid);
}

struct build_ctx {
	__u32 major;
};

static long link_parent(__u64 i, struct build_ctx *b)
{
	struct htb_class *cl = slot_of(i), *p;
	__u32 up, slot;

	if (!cl || i >= nclasses)
		return 1;
	up = class_param_u32(&class_parent, cl->classid);
	if (!up)
		return 0;
	if (!(up & 0xffff0000))
		up |= b->major;
	slot = find_slot(up);
	p = slot_of(slot);
	if (!p || slot == i) {
		bpf_printk("htb: class %x: parent %x is not a class of this qdisc", cl->classid, up);
		cl->rate = 0; /* unusable */
		return 0;
	}
	cl->parent = slot;
	p->leaf = 0;
	return 0;
}

/* The depth of every class (walking up, at most MAX_DEPTH) gives its level. */
static long set_level(__u64 i, void *unused)
{
	struct htb_class *cl = slot_of(i), *up;
	__u32 depth = 0, s, ok = 0, d;

	if (!cl || i >= nclasses)
		return 1;
	s = cl->parent;
	for (d = 0; d < MAX_DEPTH; d++) {
		if (s == NO_SLOT) {
			ok = 1;
			break;
		}
		up = slot_of(s);
		if (!up || up->rate == 0)
			break;
		depth++;
		s = up->parent;
	}
	if (!ok) {
		bpf_printk("htb: class %x is deeper than %d or under an unusable class", cl->classid, MAX_DEPTH);
		cl->usable = 0;
		cl->level = 0;
		return 0;
	}
	cl->level = cl->leaf ? 0 : MAX_DEPTH - 1 - depth;
	cl->usable = cl->leaf && cl->rate != 0;
	return 0;
}

static void build_classes(__u32 handle)
{
	struct build_ctx b = {handle & 0xffff0000};

	nclasses = 0;
	bpf_for_each_map_elem(&class_rate, collect_class, NULL, 0);
	bpf_loop(MAX_CLASSES, link_parent, &b, 0);
	bpf_loop(MAX_CLASSES, set_level, NULL, 0);
	built = 1;
}

/* ---- enqueue ---- */

/* The slot of a usable leaf named by classid within this qdisc, or NO_SLOT. */
static __u32 leaf_slot(__u32 classid, __u32 handle)
{
	__u32 slot = class_table_find_own(&classes, nclasses, classid, handle);
	struct htb_class *cl = slot_of(slot);

	return cl && cl->usable ? slot : NO_SLOT;
}

SEC("qdisc/init")
int htb_init(struct sch_bpf_ctx *ctx)
{
	if (r2q == 0) {
		bpf_printk("htb: r2q must be at least 1");
		return -22;
	}
	if (defcls > 0xffff) {
		bpf_printk("htb: defcls %x is not a class minor (0 to 0xffff)", defcls);
		return -22;
	}
	return 0;
}

/* A leaf's child may have dropped packets the shadow still counts (a full pfifo drops the
 * arrival): trim the shadow from its tail to the child's queue length, as ets does, by at most
 * `most` entries. Run for the leaf about to take a packet (up to 64, fq_codel's drop batch) and
 * for every leaf before a dequeue (up to 2: the drop of the last arrival; more is trimmed by the
 * next dequeues, as a smaller bound keeps the verifier's count of paths small). */
static __always_inline void sync_leaf(__u32 slot, __u32 most)
{
	struct htb_class *cl = slot_of(slot);
	__u64 child, excess;

	if (!cl || !cl->usable || cl->head == cl->tail)
		return;
	child = bpf_qdisc_class_qlen(cl->classid);
	excess = cl->tail - cl->head > child ? cl->tail - cl->head - child : 0;
	for (__u32 n = 0; n < 64; n++) {
		if (n >= excess || n >= most)
			break;
		shadow_len_forget(&lengths, slot, --cl->tail);
		qlen--;
	}
}

static long sync_cb(__u64 i, void *unused)
{
	if (i >= nclasses)
		return 1;
	sync_leaf((__u32)i, 2);
	return 0;
}

SEC("qdisc/enqueue")
int htb_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 handle = ctx->classid, slot, len = ctx->skb->wire_len;
	struct htb_class *cl;

	if (!built)
		build_classes(handle);
	slot = leaf_slot(ctx->skb->priority, handle);
	if (slot == NO_SLOT)
		slot = leaf_slot(bpf_skb_tc_classify(ctx->skb, ctx->skb->ifindex, handle), handle);
	if (slot == NO_SLOT && defcls)
		slot = leaf_slot((handle & 0xffff0000) | defcls, handle);
	cl = slot_of(slot);
	if (!cl)
		return SCH_BPF_DROP;
	sync_leaf(slot, 64);
	if (shadow_len_put(&lengths, slot, cl->tail, len, BPF_NOEXIST))
		return SCH_BPF_DROP;
	cl->tail++;
	qlen++;
	ctx->classid = cl->classid;
	return SCH_BPF_PASS;
}

/* ---- dequeue ---- */

struct scan {
	__u64 now;
	__u64 min_wait;   /* earliest mode change, or ~0 */
	__u32 best_key;   /* level * NUM_PRIO + prio of the best candidate, or ~0 */
	__u32 first;      /* among leaves of best_key: smallest classid slot, and first >= ptr */
	__u32 first_id;
	__u32 next;
	__u32 next_id;
	__u32 lender_level;
};

/* htb_class_mode at s->now for every class; the earliest mode change among the others. */
static long compute_mode(__u64 i, struct scan *s)
{
	struct htb_class *cl = slot_of(i);
	__s64 diff, toks;

	if (!cl || i >= nclasses)
		return 1;
	diff = (__s64)(s->now - cl->t_c);
	if (diff > (__s64)MBUFFER_NS)
		diff = MBUFFER_NS;
	toks = cl->ctokens + diff;
	if (toks < 0) {
		cl->mode = HTB_CANT_SEND;
		cl->wait = -toks;
	} else {
		toks = cl->tokens + diff;
		if (toks >= 0) {
			cl->mode = HTB_CAN_SEND;
			cl->wait = 0;
			return 0;
		}
		cl->mode = HTB_MAY_BORROW;
		cl->wait = -toks;
	}
	if (cl->rate && cl->wait < s->min_wait)
		s->min_wait = cl->wait;
	return 0;
}

/* The level of the class a backlogged leaf would send through, or -1 (none can lend). */
static __always_inline int lender_level(struct htb_class *cl)
{
	__u32 d;

	for (d = 0; d < MAX_DEPTH; d++) {
		if (cl->mode == HTB_CAN_SEND)
			return cl->level;
		if (cl->mode == HTB_CANT_SEND || cl->parent == NO_SLOT)
			return -1;
		cl = slot_of(cl->parent);
		if (!cl)
			return -1;
	}
	return -1;
}

/* Pass 1: the best (level, prio) among backlogged leaves that can send. */
static long best_key_cb(__u64 i, struct scan *s)
{
	struct htb_class *cl = slot_of(i);
	int level;
	__u32 key;

	if (!cl || i >= nclasses)
		return 1;
	if (!cl->usable || cl->head == cl->tail)
		return 0;
	level = lender_level(cl);
	if (level < 0)
		return 0;
	key = (__u32)level * NUM_PRIO + cl->prio;
	if (key < s->best_key)
		s->best_key = key;
	return 0;
}

/* Pass 2: among the leaves of best_key, the one at or after the round-robin pointer. */
static long pick_cb(__u64 i, struct scan *s)
{
	struct htb_class *cl = slot_of(i);
	__u32 ptr, key;
	int level;

	if (!cl || i >= nclasses)
		return 1;
	if (!cl->usable || cl->head == cl->tail)
		return 0;
	level = lender_level(cl);
	if (level < 0)
		return 0;
	key = (__u32)level * NUM_PRIO + cl->prio;
	if (key != s->best_key)
		return 0;
	ptr = rr_ptr[key & (MAX_DEPTH * NUM_PRIO - 1)];
	if (cl->classid < s->first_id) {
		s->first_id = cl->classid;
		s->first = i;
	}
	if (cl->classid >= ptr && cl->classid < s->next_id) {
		s->next_id = cl->classid;
		s->next = i;
	}
	return 0;
}

/* htb_charge_class: len bytes sent by the leaf through a lender at `level`. */
static __always_inline void charge(struct htb_class *cl, __u32 level, __u32 len, __u64 now)
{
	__u32 d;
	__s64 diff, toks;

	for (d = 0; d < MAX_DEPTH; d++) {
		diff = (__s64)(now - cl->t_c);
		if (diff > (__s64)MBUFFER_NS)
			diff = MBUFFER_NS;
		if (cl->level >= level) { /* htb_accnt_tokens */
			toks = cl->tokens + diff;
			if (toks > cl->buffer)
				toks = cl->buffer;
			toks -= l2t_ns(cl->rate, len);
			if (toks <= -(__s64)MBUFFER_NS)
				toks = 1 - (__s64)MBUFFER_NS;
			cl->tokens = toks;
		} else { /* a borrower: Linux only moves its tokens with the clock */
			cl->tokens += diff;
		}
		toks = cl->ctokens + diff; /* htb_accnt_ctokens */
		if (toks > cl->cbuffer)
			toks = cl->cbuffer;
		toks -= l2t_ns(cl->ceil, len);
		if (toks <= -(__s64)MBUFFER_NS)
			toks = 1 - (__s64)MBUFFER_NS;
		cl->ctokens = toks;
		cl->t_c = now;
		if (cl->parent == NO_SLOT)
			return;
		cl = slot_of(cl->parent);
		if (!cl)
			return;
	}
}

SEC("qdisc/dequeue")
int htb_dequeue(struct sch_bpf_ctx *ctx)
{
	struct scan s = {};
	struct htb_class *cl;
	__u32 *lenp, len, slot, rr, level;

	ctx->skb = NULL;
	bpf_loop(MAX_CLASSES, sync_cb, NULL, 0);
	if (!qlen)
		return SCH_BPF_DEQUEUED;
	s.now = bpf_ktime_get_ns();
	s.min_wait = ~0ULL;
	s.best_key = ~0U;
	s.first = s.next = NO_SLOT;
	s.first_id = s.next_id = ~0U;
	bpf_loop(MAX_CLASSES, compute_mode, &s, 0);
	bpf_loop(MAX_CLASSES, best_key_cb, &s, 0);
	if (s.best_key == ~0U) { /* nothing can send: sleep until the first mode change */
		overlimits++;
		if (s.min_wait == ~0ULL)
			return SCH_BPF_DEQUEUED;
		ctx->delay = s.min_wait;
		return SCH_BPF_THROTTLE;
	}
	bpf_loop(MAX_CLASSES, pick_cb, &s, 0);
	slot = s.next != NO_SLOT ? s.next : s.first;
	cl = slot_of(slot);
	if (!cl)
		return SCH_BPF_DEQUEUED;
	lenp = shadow_len_at(&lengths, slot, cl->head);
	len = lenp ? *lenp : 0;
	shadow_len_forget(&lengths, slot, cl->head++);
	qlen--;
	level = s.best_key / NUM_PRIO;
	rr = s.best_key & (MAX_DEPTH * NUM_PRIO - 1);
	rr_ptr[rr] = cl->classid;
	/* htb_dequeue_tree: DRR on the leaf's deficit for this level. */
	cl->deficit[level & (MAX_DEPTH - 1)] -= len;
	if (cl->deficit[level & (MAX_DEPTH - 1)] < 0) {
		cl->deficit[level & (MAX_DEPTH - 1)] += cl->quantum;
		rr_ptr[rr] = cl->classid + 1; /* the pointer moves to the next leaf */
	}
	ctx->classid = cl->classid;
	charge(cl, level, len, s.now);
	return SCH_BPF_PASS;
}

char LICENSE[] SEC("license") = "GPL";
