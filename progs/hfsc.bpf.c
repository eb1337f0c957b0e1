/* hfsc (Linux net/sched/sch_hfsc.c): the Hierarchical Fair Service Curve scheduler (Stoica, Zhang,
 * Ng, SIGCOMM 1997). Every class may have three two-piece linear service curves (slope m1 for
 * the first d, then m2): real-time (rsc), link-sharing (fsc) and upper-limit (usc).
 *
 * Classes: user space lists them in the class_NAME maps (`tc class add ... classid 1:10 hfsc sc
 * rate 10mbit ul rate 20mbit parent 0x1`; the tc model turns rt/ls/sc/ul curves into
 * class_rt_m1, class_rt_d, class_rt_m2, class_ls_*, class_ul_*). Every class has an entry in
 * every map (0: not set). bpfq's tc model does not nest classes, so, as htb, the tree is given by
 * `class_parent`: the parent's minor (0: under the qdisc, Linux's root class). At most 63 classes
 * and a depth of 8. Leaf classes hold the packets in their child qdiscs; inner classes only
 * schedule. qdisc/init builds the class table from the maps (user space fills them first, as the
 * tc model does; a reset runs init again).
 *
 * As Linux (after the 2017 vt rework): times are psched ticks (64 ns) and curves use Linux's
 * scaled slopes (SM_SHIFT 24, ISM_SHIFT 14), so every eligible time, deadline, virtual time and
 * fit time is Linux's to the tick.
 *  - Real-time: an active class with rsc has an eligible curve and a deadline curve (rtsc_min of
 *    the old one and the curve started at (now, cumul)); e = eligible^-1(cumul), d =
 *    deadline^-1(cumul + next_len). The eligible class (e <= now) with the smallest d is served
 *    first (ties: the earlier e, then the earlier insertion, as Linux's rbtree); its cumul grows.
 *  - Link-sharing: otherwise, descend from the root taking at each level the active child with
 *    the smallest vt whose fit time f <= now (vttree_firstfit), raising the parent's cvtmin. vt =
 *    virtual^-1(total) + vtadj; a class going active starts at the mean of its parent's cvtmin and
 *    the largest active sibling vt (not below its own in the same parent period), or at the
 *    parent's cvtoff when it is the first of a new backlog period; a class going passive raises
 *    its parent's cvtoff to its vt.
 *  - Upper limit: f = max(myf, min f of the children), myf = ulimit^-1(total); a class whose f
 *    is in the future is skipped by link-sharing.
 *  - Nothing eligible and nothing fits: THROTTLE until the earliest of the smallest e and the
 *    root's cfmin (hfsc_schedule_watchdog).
 * Classification (hfsc_classify): skb->priority naming a leaf of this qdisc; else the qdisc's
 * filters, descending through inner classes' filters; else the `defcls` class (tc's `default`);
 * else DROP. Head lengths come from a shadow FIFO of the lengths passed to each leaf (as htb).
 * A class goes active when its first packet is accepted by its child: the program learns that
 * at its next run (enqueue or dequeue) from the child's queue length and activates the class
 * then, with the time and length of the arrival (nothing else ran in between). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/class_table.h>
#include <bpfq/bpf/shadow_lengths.h>

#define MAX_CLASSES 64     /* a power of two: slot indices are masked; slot 0 is the root */
#define MAX_DEPTH 8
#define MAX_PACKETS 65536
#define NO_SLOT 0xffffffffu
#define HT_INFINITY 0xffffffffffffffffULL
#define PSCHED_SHIFT 6
#define PSCHED_TICKS_PER_SEC (1000000000ULL >> PSCHED_SHIFT)
#define SM_SHIFT (30 - PSCHED_SHIFT)
#define ISM_SHIFT (8 + PSCHED_SHIFT)
#define SM_MASK ((1ULL << SM_SHIFT) - 1)
#define ISM_MASK ((1ULL << ISM_SHIFT) - 1)

enum { HFSC_RSC = 1, HFSC_FSC = 2, HFSC_USC = 4 };

const volatile __u32 defcls = 0; /* tc's `default`: the minor of the default class */

#define CLASS_MAP(NAME)                                \
	struct {                                       \
		__uint(type, BPF_MAP_TYPE_HASH);       \
		__uint(map_flags, BPF_F_RDONLY_PROG);  \
		__uint(max_entries, MAX_CLASSES);      \
		__type(key, __u32);                    \
		__type(value, __u64);                  \
	} NAME SEC(".maps")

/* Slopes in bytes/s, d in ns; a curve with m1 = m2 = 0 is absent. */
CLASS_MAP(class_rt_m1);
CLASS_MAP(class_rt_d);
CLASS_MAP(class_rt_m2);
CLASS_MAP(class_ls_m1);
CLASS_MAP(class_ls_d);
CLASS_MAP(class_ls_m2);
CLASS_MAP(class_ul_m1);
CLASS_MAP(class_ul_d);
CLASS_MAP(class_ul_m2);
CLASS_MAP(class_parent); /* minor of the parent class, 0: under the qdisc */

struct internal_sc {
	__u64 sm1, ism1, dx, dy, sm2, ism2;
};

struct runtime_sc {
	__u64 x, y, sm1, ism1, dx, dy, sm2, ism2;
};

struct hfsc_class {
	__u32 classid;
	__u32 parent;    /* slot of the parent, NO_SLOT for the root */
	__u32 level;     /* 0 for leaves, 1 + the highest child level above */
	__u32 flags;     /* HFSC_RSC | HFSC_FSC | HFSC_USC */
	__u32 usable;    /* a leaf with a curve and a valid path to the root */
	__u32 in_el;     /* in the eligible tree */
	__u32 in_vt;     /* in the parent's vt and cf trees */
	__u32 nactive;   /* leaf: 1 when active; inner: active children */
	__u64 el_seq;    /* insertion order in the eligible tree (ties of e) */
	__u64 vt_seq;    /* insertion order in the parent's vt tree (ties of vt) */
	__u64 total;     /* bytes sent */
	__u64 cumul;     /* bytes sent by the real-time criterion */
	__u64 d, e, vt, f, myf, cfmin, cvtmin, cvtoff, vtadj;
	__u64 vtperiod, parentperiod;
	struct internal_sc rsc, fsc, usc;
	struct runtime_sc deadline, eligible, virt, ulimit;
	__u64 head, tail; /* shadow FIFO of lengths: [head, tail) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct hfsc_class);
} classes SEC(".maps");

BPFQ_SHADOW_LENGTHS(lengths, MAX_PACKETS); /* the leaves' shadow FIFOs, by slot */

__u32 nclasses;        /* slots in use, the root included */
__u64 qlen;            /* packets handed to leaves and not yet dequeued */
__u64 overlimits;
__u64 tree_seq;        /* insertion counter of the trees */
/* The last arrival, until the next run learns whether its leaf's child kept it. */
__u32 pending_slot = NO_SLOT;
__u32 pending_len;
__u32 pending_first;
__u64 pending_time;

static __always_inline struct hfsc_class *slot_of(__u32 slot)
{
	return class_table_slot(&classes, slot, MAX_CLASSES);
}

/* ---- service curves (Linux's fixed point) ---- */

static __always_inline __u64 seg_x2y(__u64 x, __u64 sm)
{
	return (x >> SM_SHIFT) * sm + (((x & SM_MASK) * sm) >> SM_SHIFT);
}

static __always_inline __u64 seg_y2x(__u64 y, __u64 ism)
{
	if (y == 0)
		return 0;
	if (ism == HT_INFINITY)
		return HT_INFINITY;
	return (y >> ISM_SHIFT) * ism + (((y & ISM_MASK) * ism) >> ISM_SHIFT);
}

static __always_inline __u64 m2sm(__u64 m)
{
	return ((m << SM_SHIFT) + PSCHED_TICKS_PER_SEC - 1) / PSCHED_TICKS_PER_SEC;
}

static __always_inline __u64 m2ism(__u64 m)
{
	return m ? ((PSCHED_TICKS_PER_SEC << ISM_SHIFT) + m - 1) / m : HT_INFINITY;
}

/* d2dx: tc hands the kernel microseconds; psched ticks rounded up. */
static __always_inline __u64 d2dx(__u64 d_ns)
{
	return ((d_ns / 1000) * PSCHED_TICKS_PER_SEC + 1000000 - 1) / 1000000;
}

/* The curve of one class from its class maps; 0 if absent (m1 = m2 = 0). */
static __always_inline int sc2isc(struct internal_sc *isc, void *m1map, void *dmap, void *m2map, __u32 classid)
{
	__u64 m1 = class_param_u64(m1map, classid), m2 = class_param_u64(m2map, classid);

	if (!m1 && !m2)
		return 0;
	isc->sm1 = m2sm(m1);
	isc->ism1 = m2ism(m1);
	isc->dx = d2dx(class_param_u64(dmap, classid));
	isc->dy = seg_x2y(isc->dx, isc->sm1);
	isc->sm2 = m2sm(m2);
	isc->ism2 = m2ism(m2);
	return 1;
}

static __always_inline void rtsc_init(struct runtime_sc *r, struct internal_sc *isc, __u64 x, __u64 y)
{
	r->x = x;
	r->y = y;
	r->sm1 = isc->sm1;
	r->ism1 = isc->ism1;
	r->dx = isc->dx;
	r->dy = isc->dy;
	r->sm2 = isc->sm2;
	r->ism2 = isc->ism2;
}

static __always_inline __u64 rtsc_y2x(struct runtime_sc *r, __u64 y)
{
	if (y < r->y)
		return r->x;
	if (y <= r->y + r->dy) {
		if (r->dy == 0)
			return r->x + r->dx;
		return r->x + seg_y2x(y - r->y, r->ism1);
	}
	return r->x + r->dx + seg_y2x(y - r->y - r->dy, r->ism2);
}

static __always_inline __u64 rtsc_x2y(struct runtime_sc *r, __u64 x)
{
	if (x <= r->x)
		return r->y;
	if (x <= r->x + r->dx)
		return r->y + seg_x2y(x - r->x, r->sm1);
	return r->y + r->dy + seg_x2y(x - r->x - r->dx, r->sm2);
}

/* The runtime curve becomes the minimum of itself and isc started at (x, y). */
static void rtsc_min(struct runtime_sc *r, struct internal_sc *isc, __u64 x, __u64 y)
{
	__u64 y1, y2, dx, dsm;

	if (isc->sm1 <= isc->sm2) { /* convex */
		y1 = rtsc_x2y(r, x);
		if (y1 < y)
			return;
		r->x = x;
		r->y = y;
		return;
	}
	/* concave */
	y1 = rtsc_x2y(r, x);
	if (y1 <= y)
		return;
	y2 = rtsc_x2y(r, x + isc->dx);
	if (y2 >= y + isc->dy) {
		r->x = x;
		r->y = y;
		r->dx = isc->dx;
		r->dy = isc->dy;
		return;
	}
	/* they intersect: seg_x2y(dx, sm1) == seg_x2y(dx, sm2) + (y1 - y) */
	dsm = isc->sm1 - isc->sm2;
	dx = ((y1 - y) << SM_SHIFT) / dsm;
	if (r->x + r->dx > x)
		dx += r->x + r->dx - x;
	r->x = x;
	r->y = y;
	r->dx = dx;
	r->dy = seg_x2y(dx, isc->sm1);
}

/* ---- building the class table from the class maps ---- */

static long collect_class(void *map, __u32 *key, __u64 *parent, void *unused)
{
	struct hfsc_class *cl;
	__u32 classid = *key;

	cl = class_table_append(&classes, MAX_CLASSES, &nclasses, classid, sizeof(*cl));
	if (!cl)
		return 1;
	cl->parent = NO_SLOT;
	if (sc2isc(&cl->rsc, &class_rt_m1, &class_rt_d, &class_rt_m2, classid)) {
		cl->flags |= HFSC_RSC;
		rtsc_init(&cl->deadline, &cl->rsc, 0, 0);
		cl->eligible = cl->deadline;
		if (cl->rsc.sm1 <= cl->rsc.sm2) {
			cl->eligible.dx = 0;
			cl->eligible.dy = 0;
		}
	}
	if (sc2isc(&cl->fsc, &class_ls_m1, &class_ls_d, &class_ls_m2, classid)) {
		cl->flags |= HFSC_FSC;
		rtsc_init(&cl->virt, &cl->fsc, 0, 0);
	}
	if (sc2isc(&cl->usc, &class_ul_m1, &class_ul_d, &class_ul_m2, classid)) {
		cl->flags |= HFSC_USC;
		rtsc_init(&cl->ulimit, &cl->usc, 0, 0);
	}
	cl->usable = 1; /* until proved otherwise below */
	if (!(cl->flags & (HFSC_RSC | HFSC_FSC))) {
		bpf_printk("hfsc: class %x has neither rt nor ls curve; its packets are dropped", classid);
		cl->usable = 0;
	}
	return 0;
}

/* The slot of classid, or NO_SLOT. */
static __always_inline __u32 find_slot(__u32 classid)
{
	return class_table_find(&classes, nclasses, classid);
}

/* The parent of every class: the root (slot 0) or the class named by class_parent. */
static long link_parent(__u64 i, __u32 *major)
{
	struct hfsc_class *cl, *p;
	__u32 up, slot;

	if (i >= nclasses)
		return 1;
	cl = slot_of(i);
	if (!cl || i == 0)
		return 0;
	up = class_param_u64(&class_parent, cl->classid);
	slot = 0;
	if (up) {
		if (!(up & 0xffff0000))
			up |= *major;
		slot = find_slot(up);
	}
	p = slot_of(slot);
	if (!p || slot == i || slot == NO_SLOT) {
		bpf_printk("hfsc: class %x: parent %x is not a class of this qdisc", cl->classid, up);
		cl->usable = 0;
		return 0;
	}
	cl->parent = slot;
	return 0;
}

/* Levels (hfsc_adjust_levels): every ancestor is above its highest child. A class deeper than
 * MAX_DEPTH or under an unusable chain is unusable. Inner classes without a link-sharing curve
 * get their real-time curve as one (hfsc_upgrade_rt: "Forced curve change on parent 'rt' to
 * 'sc'"). */
static long set_levels(__u64 i, void *unused)
{
	struct hfsc_class *cl, *up;
	__u32 s, d, ok = 0;

	if (i >= nclasses)
		return 1;
	cl = slot_of(i);
	if (!cl || i == 0)
		return 0;
	s = cl->parent;
	for (d = 1; d <= MAX_DEPTH; d++) {
		up = slot_of(s);
		if (!up)
			break;
		if (up->level < d)
			up->level = d;
		if (s == 0) {
			ok = 1;
			break;
		}
		if (!(up->flags & HFSC_FSC)) {
			up->fsc = up->rsc;
			rtsc_init(&up->virt, &up->fsc, 0, 0);
			up->flags |= HFSC_FSC;
		}
		s = up->parent;
	}
	if (!ok) {
		bpf_printk("hfsc: class %x is deeper than %d or under an unknown class", cl->classid, MAX_DEPTH);
		cl->usable = 0;
	}
	return 0;
}

/* A leaf with a curve and a path to the root through inner classes with ls curves (inner
 * classes hold no packets). */
static long set_usable(__u64 i, void *unused)
{
	struct hfsc_class *cl, *up;
	__u32 s, d;

	if (i >= nclasses)
		return 1;
	cl = slot_of(i);
	if (!cl || i == 0)
		return 0;
	if (cl->level) {
		cl->usable = 0;
		return 0;
	}
	s = cl->parent;
	for (d = 0; d < MAX_DEPTH && s != 0; d++) {
		up = slot_of(s);
		if (!up)
			break;
		if (!(up->flags & HFSC_FSC))
			cl->usable = 0;
		s = up->parent;
	}
	return 0;
}

static void build_classes(__u32 handle)
{
	struct hfsc_class *root = slot_of(0);
	__u32 major = handle & 0xffff0000;

	if (!root)
		return;
	__builtin_memset(root, 0, sizeof(*root));
	root->classid = major;
	root->parent = NO_SLOT;
	nclasses = 1;
	bpf_for_each_map_elem(&class_parent, collect_class, NULL, 0);
	bpf_loop(MAX_CLASSES, link_parent, &major, 0);
	bpf_loop(MAX_CLASSES, set_levels, NULL, 0);
	bpf_loop(MAX_CLASSES, set_usable, NULL, 0);
}

/* ---- the trees, as scans of the children of one class ---- */

/* The rbtrees of Linux (the eligible tree, each class's vt and cf trees) are scans of the class
 * table: one bpf_loop callback per question. */
struct scan {
	__u32 parent;  /* the class whose children are scanned (the vt and cf trees) */
	__u32 best;    /* the slot found, or NO_SLOT */
	__u64 now;
	__u64 key[3];  /* its key: the smallest (key[0], key[1], key[2]) */
};

/* Class i as a candidate of a scan: the smallest key wins, ties going to the earlier insertion
 * (an rbtree's in-order walk keeps the first of equal keys). */
static __always_inline void consider(struct scan *s, __u32 i, __u64 k0, __u64 k1, __u64 k2)
{
	if (s->best == NO_SLOT || k0 < s->key[0] || (k0 == s->key[0] && (k1 < s->key[1] || (k1 == s->key[1] && k2 < s->key[2])))) {
		s->best = i;
		s->key[0] = k0;
		s->key[1] = k1;
		s->key[2] = k2;
	}
}

/* Class i if it is an active child of s->parent (in its vt and cf trees). */
static __always_inline struct hfsc_class *active_child(__u64 i, struct scan *s)
{
	struct hfsc_class *cl = i < nclasses ? slot_of(i) : NULL;

	return cl && cl->in_vt && cl->parent == s->parent ? cl : NULL;
}

/* update_cfmin: the smallest f among the parent's active children. */
static long cfmin_cb(__u64 i, struct scan *s)
{
	struct hfsc_class *cl = active_child(i, s);

	if (cl)
		consider(s, i, cl->f, 0, 0);
	return i + 1 >= nclasses;
}

/* rb_last of the parent's vt tree: the largest vt (key ~vt). */
static long maxvt_cb(__u64 i, struct scan *s)
{
	struct hfsc_class *cl = active_child(i, s);

	if (cl)
		consider(s, i, ~cl->vt, 0, 0);
	return i + 1 >= nclasses;
}

/* vttree_firstfit: the first child in (vt, insertion) order whose f <= now. */
static long firstfit_cb(__u64 i, struct scan *s)
{
	struct hfsc_class *cl = active_child(i, s);

	if (cl && cl->f <= s->now)
		consider(s, i, cl->vt, cl->vt_seq, 0);
	return i + 1 >= nclasses;
}

/* Class i if it is in the eligible tree. */
static __always_inline struct hfsc_class *in_eltree(__u64 i)
{
	struct hfsc_class *cl = i < nclasses ? slot_of(i) : NULL;

	return cl && cl->in_el ? cl : NULL;
}

/* eltree_get_mindl: among classes with e <= now, the smallest d, then e. */
static long mindl_cb(__u64 i, struct scan *s)
{
	struct hfsc_class *cl = in_eltree(i);

	if (cl && cl->e <= s->now)
		consider(s, i, cl->d, cl->e, cl->el_seq);
	return i + 1 >= nclasses;
}

/* eltree_get_minel: the smallest e. */
static long minel_cb(__u64 i, struct scan *s)
{
	struct hfsc_class *cl = in_eltree(i);

	if (cl)
		consider(s, i, cl->e, 0, 0);
	return i + 1 >= nclasses;
}

/* A scan of the classes by one of the callbacks above, into s->best (NO_SLOT: none). */
static __always_inline void scan(struct scan *s, void *cb, __u32 parent, __u64 now)
{
	s->parent = parent;
	s->now = now;
	s->best = NO_SLOT;
	s->key[0] = s->key[1] = s->key[2] = 0;
	bpf_loop(MAX_CLASSES, cb, s, 0);
}

static __always_inline void update_cfmin(__u32 parent)
{
	struct scan s;
	struct hfsc_class *p;

	scan(&s, cfmin_cb, parent, 0);
	p = slot_of(parent);
	if (p)
		p->cfmin = s.best == NO_SLOT ? 0 : s.key[0];
}

/* ---- real-time: eligible time and deadline ---- */

static __always_inline void el_insert(struct hfsc_class *cl)
{
	cl->in_el = 1;
	cl->el_seq = ++tree_seq;
}

static __always_inline void init_ed(struct hfsc_class *cl, __u32 next_len, __u64 cur_time)
{
	rtsc_min(&cl->deadline, &cl->rsc, cur_time, cl->cumul);
	/* the eligible curve: the deadline curve if concave, its m2 line if convex */
	cl->eligible = cl->deadline;
	if (cl->rsc.sm1 <= cl->rsc.sm2) {
		cl->eligible.dx = 0;
		cl->eligible.dy = 0;
	}
	cl->e = rtsc_y2x(&cl->eligible, cl->cumul);
	cl->d = rtsc_y2x(&cl->deadline, cl->cumul + next_len);
	el_insert(cl);
}

/* ---- link-sharing: virtual time and fit time ---- */

/* The walks along the tree (init_vf and update_vf up, vttree_get_minvt down) are bpf_loop
 * callbacks, one level per call: `slot` is the class of this level. */
struct walk {
	__u32 slot;
	__u32 len;
	__u32 flag; /* init_vf: go_active; update_vf: go_passive; get_minvt: a leaf was found */
	__u32 pad;
	__u64 cur_time;
};

/* One level of init_vf: the class in w->slot goes active (while w->flag holds), its fit time
 * and its parent's cfmin are updated. */
static long init_vf_cb(__u64 i, struct walk *w)
{
	struct hfsc_class *cl = slot_of(w->slot), *p;
	struct scan s;
	__u64 vt, f;

	if (!cl || cl->parent == NO_SLOT)
		return 1;
	p = slot_of(cl->parent);
	if (!p)
		return 1;
	w->flag = w->flag && cl->nactive++ == 0;
	if (w->flag) {
		scan(&s, maxvt_cb, cl->parent, 0);
		if (s.best != NO_SLOT) {
			/* the mean of the min and max classes; within the parent's period, never lower
			 * than before */
			vt = ~s.key[0];
			if (p->cvtmin != 0)
				vt = (p->cvtmin + vt) / 2;
			if (p->vtperiod != cl->parentperiod || vt > cl->vt)
				cl->vt = vt;
		} else {
			/* first child of a new backlog period of the parent */
			cl->vt = p->cvtoff;
			p->cvtmin = 0;
		}
		rtsc_min(&cl->virt, &cl->fsc, cl->vt, cl->total);
		cl->vtadj = 0;
		cl->vtperiod++;
		cl->parentperiod = p->vtperiod;
		if (p->nactive == 0)
			cl->parentperiod++;
		cl->f = 0;
		cl->in_vt = 1;
		cl->vt_seq = ++tree_seq;
		if (cl->flags & HFSC_USC) {
			rtsc_min(&cl->ulimit, &cl->usc, w->cur_time, cl->total);
			cl->myf = rtsc_y2x(&cl->ulimit, cl->total);
		}
	}
	f = cl->myf > cl->cfmin ? cl->myf : cl->cfmin;
	cl->f = f;
	w->slot = cl->parent;
	update_cfmin(w->slot);
	return 0;
}

/* init_vf: the leaf in `slot` goes active with a packet; so do its passive ancestors. */
static __always_inline void init_vf(__u32 slot, __u64 cur_time)
{
	struct walk w = {.slot = slot, .flag = 1, .cur_time = cur_time};

	bpf_loop(MAX_DEPTH, init_vf_cb, &w, 0);
}

/* One level of update_vf: the class in w->slot sent w->len bytes. */
static long update_vf_cb(__u64 i, struct walk *w)
{
	struct hfsc_class *cl = slot_of(w->slot), *p;
	__u64 f;

	if (!cl || cl->parent == NO_SLOT)
		return 1;
	p = slot_of(cl->parent);
	if (!p)
		return 1;
	w->slot = cl->parent;
	cl->total += w->len;
	if (!(cl->flags & HFSC_FSC) || cl->nactive == 0)
		return 0;
	w->flag = w->flag && --cl->nactive == 0;
	cl->vt = rtsc_y2x(&cl->virt, cl->total) + cl->vtadj;
	/* a vt below cvtmin: the class was skipped for not fitting; catch up */
	if (cl->vt < p->cvtmin) {
		cl->vtadj += p->cvtmin - cl->vt;
		cl->vt = p->cvtmin;
	}
	if (w->flag) { /* no more active children: passive */
		if (cl->vt > p->cvtoff)
			p->cvtoff = cl->vt;
		cl->in_vt = 0;
		update_cfmin(w->slot);
		return 0;
	}
	cl->vt_seq = ++tree_seq; /* vttree_update */
	if (cl->flags & HFSC_USC)
		cl->myf = rtsc_y2x(&cl->ulimit, cl->total);
	f = cl->myf > cl->cfmin ? cl->myf : cl->cfmin;
	if (f != cl->f) {
		cl->f = f;
		update_cfmin(w->slot);
	}
	return 0;
}

/* update_vf: the leaf in `slot` sent len bytes (it goes passive if that emptied it). */
static __always_inline void update_vf(__u32 slot, struct hfsc_class *leaf, __u32 len)
{
	struct walk w = {.slot = slot, .len = len};

	w.flag = leaf->head == leaf->tail && (leaf->flags & HFSC_FSC);
	bpf_loop(MAX_DEPTH, update_vf_cb, &w, 0);
}

/* ---- enqueue ---- */

/* The slot of a usable leaf named by classid within this qdisc, or NO_SLOT. */
static __u32 leaf_slot(__u32 classid, __u32 handle)
{
	__u32 slot = class_table_find_own(&classes, nclasses, classid, handle);
	struct hfsc_class *cl = slot_of(slot);

	return cl && cl->usable ? slot : NO_SLOT;
}

struct classify {
	struct __sk_buff *skb;
	__u32 handle;
	__u32 at;     /* the qdisc or inner class whose filters run next */
	__u32 level;  /* its level: a filter may only point downwards */
	__u32 slot;   /* the leaf found, or NO_SLOT */
};

/* One step of hfsc_classify's filter walk: the filters of c->at name a leaf (done), an inner
 * class below (its filters next), or nothing usable (done, NO_SLOT). */
static long classify_cb(__u64 i, struct classify *c)
{
	struct hfsc_class *cl;
	__u32 id, slot;

	if (!c->skb)
		return 1;
	id = bpf_skb_tc_classify(c->skb, c->skb->ifindex, c->at);
	slot = class_table_find_own(&classes, nclasses, id, c->handle);
	cl = slot_of(slot);
	if (!cl || cl->level >= c->level)
		return 1;
	if (cl->level == 0) {
		c->slot = cl->usable ? slot : NO_SLOT;
		return 1;
	}
	c->at = id;
	c->level = cl->level;
	return 0;
}

/* The filters of the qdisc, then of each inner class they name, down to a leaf. */
static __always_inline __u32 classify_by_filters(struct __sk_buff *skb, __u32 handle)
{
	struct hfsc_class *root = slot_of(0);
	struct classify c = {.skb = skb, .handle = handle, .at = handle, .slot = NO_SLOT};

	if (!root)
		return NO_SLOT;
	c.level = root->level;
	bpf_loop(MAX_DEPTH, classify_cb, &c, 0);
	return c.slot;
}

/* The class table is built from the class maps here: user space fills them before qdisc/init
 * (the tc model adds a qdisc's classes before it initialises it), and a reset runs init again. */
SEC("qdisc/init")
int hfsc_init(struct sch_bpf_ctx *ctx)
{
	if (defcls > 0xffff) {
		bpf_printk("hfsc: defcls %x is not a class minor (0 to 0xffff)", defcls);
		return -22;
	}
	build_classes(ctx->classid);
	return 0;
}

/* The last arrival's leaf: if its child dropped it, forget it; if it was the leaf's first
 * packet, the leaf goes active now, at the arrival's time (hfsc_enqueue's set_active). A
 * bpf_loop callback run once: its branches stay out of the programs' paths (cheaper to verify). */
static long resolve_pending_cb(__u64 i, void *unused)
{
	__u32 slot = pending_slot;
	struct hfsc_class *cl = slot_of(slot);

	if (!cl)
		return 1;
	pending_slot = NO_SLOT;
	if (bpf_qdisc_class_qlen(cl->classid) < cl->tail - cl->head) {
		shadow_len_forget(&lengths, slot, --cl->tail);
		qlen--;
		return 1;
	}
	if (!pending_first || cl->in_el || cl->in_vt)
		return 1;
	if (cl->flags & HFSC_RSC)
		init_ed(cl, pending_len, pending_time);
	if (cl->flags & HFSC_FSC)
		init_vf(slot, pending_time);
	return 1;
}

static __always_inline void resolve_pending(void)
{
	bpf_loop(1, resolve_pending_cb, NULL, 0);
}

/* hfsc_classify: skb->priority naming a leaf, else the filters, else the default class. */
static __always_inline __u32 hfsc_classify(struct __sk_buff *skb, __u32 handle)
{
	__u32 slot = leaf_slot(skb->priority, handle);

	if (slot == NO_SLOT)
		slot = classify_by_filters(skb, handle);
	if (slot == NO_SLOT && defcls)
		slot = leaf_slot((handle & 0xffff0000) | defcls, handle);
	return slot;
}

SEC("qdisc/enqueue")
int hfsc_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 len = ctx->skb->wire_len, slot;
	struct hfsc_class *cl;

	resolve_pending();
	slot = hfsc_classify(ctx->skb, ctx->classid);
	cl = slot_of(slot);
	if (!cl || shadow_len_put(&lengths, slot, cl->tail, len, BPF_NOEXIST))
		return SCH_BPF_DROP;
	/* the class goes active (if this is its first packet) once its child is known to keep it */
	pending_slot = slot;
	pending_len = len;
	pending_first = cl->head == cl->tail;
	pending_time = bpf_ktime_get_ns() >> PSCHED_SHIFT;
	cl->tail++;
	qlen++;
	ctx->classid = cl->classid;
	return SCH_BPF_PASS;
}

/* ---- dequeue ---- */

static __always_inline __u32 head_len(__u32 slot, struct hfsc_class *cl)
{
	__u32 *lenp = shadow_len_at(&lengths, slot, cl->head);

	return lenp ? *lenp : 0;
}

/* One level of vttree_get_minvt: w->slot's first fitting child, raising its cvtmin; stops at a
 * leaf (w->flag = 1) or when nothing fits. */
static long minvt_cb(__u64 i, struct walk *w)
{
	struct hfsc_class *cl = slot_of(w->slot), *p;
	struct scan s;

	if (!cl)
		return 1;
	if (cl->level == 0) {
		w->flag = 1;
		return 1;
	}
	scan(&s, firstfit_cb, w->slot, w->cur_time);
	cl = slot_of(s.best);
	p = slot_of(w->slot);
	if (!cl || !p)
		return 1;
	if (p->cvtmin < cl->vt)
		p->cvtmin = cl->vt;
	w->slot = s.best;
	return 0;
}

/* vttree_get_minvt: descend from the root by the first fitting child. */
static __always_inline __u32 get_minvt(__u64 cur_time)
{
	struct hfsc_class *root = slot_of(0);
	struct walk w = {.slot = 0, .cur_time = cur_time};

	if (!root || root->cfmin > cur_time)
		return NO_SLOT;
	bpf_loop(MAX_DEPTH + 1, minvt_cb, &w, 0);
	return w.flag ? w.slot : NO_SLOT;
}

SEC("qdisc/dequeue")
int hfsc_dequeue(struct sch_bpf_ctx *ctx)
{
	struct hfsc_class *cl, *root;
	struct scan s;
	__u64 cur_time, next_time;
	__u32 slot, len, realtime = 0;

	ctx->skb = NULL;
	resolve_pending();
	if (!qlen)
		return SCH_BPF_DEQUEUED;
	cur_time = bpf_ktime_get_ns() >> PSCHED_SHIFT;
	scan(&s, mindl_cb, 0, cur_time);
	slot = s.best;
	if (slot != NO_SLOT) {
		realtime = 1;
	} else {
		slot = get_minvt(cur_time);
		if (slot == NO_SLOT) { /* hfsc_schedule_watchdog */
			overlimits++;
			scan(&s, minel_cb, 0, 0);
			next_time = s.best != NO_SLOT ? s.key[0] : 0;
			root = slot_of(0);
			if (root && root->cfmin != 0 && (next_time == 0 || next_time > root->cfmin))
				next_time = root->cfmin;
			if (!next_time)
				return SCH_BPF_DEQUEUED;
			next_time <<= PSCHED_SHIFT;
			cur_time = bpf_ktime_get_ns();
			ctx->delay = next_time > cur_time ? next_time - cur_time : 0;
			return SCH_BPF_THROTTLE;
		}
	}
	cl = slot_of(slot);
	if (!cl || cl->head == cl->tail)
		return SCH_BPF_DEQUEUED;
	len = head_len(slot, cl);
	shadow_len_forget(&lengths, slot, cl->head++);
	qlen--;
	ctx->classid = cl->classid;
	update_vf(slot, cl, len);
	if (realtime)
		cl->cumul += len;
	if (cl->flags & HFSC_RSC) {
		if (cl->head != cl->tail) {
			len = head_len(slot, cl);
			if (realtime) { /* update_ed */
				cl->e = rtsc_y2x(&cl->eligible, cl->cumul);
				el_insert(cl);
			}
			cl->d = rtsc_y2x(&cl->deadline, cl->cumul + len);
		} else {
			cl->in_el = 0; /* the class goes passive */
		}
	}
	return SCH_BPF_PASS;
}

char LICENSE[] SEC("license") = "GPL";
