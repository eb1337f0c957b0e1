/* bpf_fq_codel: Linux's Fair Queue CoDel (net/sched/sch_fq_codel.c) for Linux 6.16's struct_ops bpf
 * qdisc (docs/qdiscs/struct_ops.md). The twin of bpfq's seed-API progs/fq_codel.bpf.c
 * (docs/qdiscs/fq_codel.md), with its defaults: flows 1024, limit 10240 packets, target 5 ms,
 * interval 100 ms, quantum 1514, ecn on, ce_threshold off, memory_limit 32 MiB, drop_batch 64,
 * mtu 1514. The CoDel state machine is the twin's own, include/bpfq/bpf/codel.h (same integer
 * arithmetic, same 1024 ns ticks).
 *
 * As the twin: packets are hashed into `flows` buckets (skb->priority naming this qdisc and a
 * minor in 1..flows picks minor - 1, else reciprocal_scale(bpf_skb_get_hash(skb), flows)); each
 * bucket is a FIFO with its own CoDel state; a deficit round robin serves new flows before old
 * ones; over `limit` packets or `memory_limit` bytes, up to drop_batch packets (at least half its
 * bytes) are dropped from the head of the fattest flow (first in index order on ties), whose CoDel
 * count grows by the number dropped.
 *
 * Differences from the twin:
 * - ECN: the twin marks ECN-capable packets CE instead of dropping them (CoDel, ecn on by
 *   default); the struct_ops API has no kfunc to set CE, so this program drops them. For traffic
 *   that is not ECN-capable the two behave the same.
 * - Enqueue verdict: Linux's (NET_XMIT_CN when the overlimit drop hit the arriving packet's own
 *   flow, else NET_XMIT_SUCCESS; the arriving packet usually stays queued). The twin must map
 *   this onto seed verdicts (docs/qdiscs/fq_codel.md); the packets that leave are the same.
 * - Lengths are qdisc_pkt_len(skb) (the twin: skb->wire_len, the same bytes).
 * - Storage: a flow's packets are a list in a bpf_obj_new object kept in the flow_queues hash
 *   map; the flow's scalar state (list link, deficit, backlog, CoDel vars) is a global array as in
 *   the twin. Drops (overlimit and CoDel) count in sch->qstats.drops. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpfq/bpf/bpf_qdisc_ops.h>

/* codel.h is plain C written for seed-API programs: it includes <bpfq/bpf/sch_bpf.h> (uapi
 * headers, which clash with vmlinux.h) and marks CE through the seed's bpf_skb_ecn_set_ce. Take
 * its arithmetic as is, with the seed header kept out and those two names supplied: marking never
 * succeeds, so CoDel drops where the twin would mark. */
#define BPFQ_BPF_SCH_BPF_H
#define skb_view(skb) (skb)
#define bpf_skb_ecn_set_ce(skb) 0
#include <bpfq/bpf/codel.h>
#undef bpf_skb_ecn_set_ce
#undef skb_view

/* ---- parameters (the twin's defaults; a struct_ops qdisc gets none from tc) ---- */
#define FQC_LIMIT 10240                 /* packets: sch->limit */
#define FQC_FLOWS 1024                  /* buckets (a power of two here) */
#define FQC_TARGET_NS 5000000ULL        /* CoDel target */
#define FQC_INTERVAL_NS 100000000ULL    /* CoDel interval */
#define FQC_QUANTUM 1514                /* bytes per DRR round (at least 256) */
#define FQC_ECN 1
#define FQC_CE_THRESHOLD_NS 0           /* off */
#define FQC_MEMORY_LIMIT (32U << 20)    /* bytes (at most 2^31) */
#define FQC_DROP_BATCH 64               /* packets per overlimit event (at least 1) */
#define FQC_MTU 1514                    /* CoDel's backlog floor (psched_mtu) */

#define FQC_MAX_DEQUEUE_ROUNDS (4 * 65536) /* bound of the flow selection loop (as the twin) */

/* ---- packets: per flow, a FIFO of nodes in an object stashed in a hash map ---- */

struct skb_node {
	struct sk_buff __kptr *skb;
	__u64 enqueue_ns;
	__u32 len;
	__u32 pad;
	struct bpf_list_node node;
};

struct flow_queue {
	struct bpf_spin_lock lock;
	struct bpf_list_head packets __contains(skb_node, node);
};

struct stashed_queue {
	struct flow_queue __kptr *queue;
};

/* flow index -> its FIFO */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FQC_FLOWS);
	__type(key, __u32);
	__type(value, struct stashed_queue);
} flow_queues SEC(".maps");

/* ---- flows: the twin's per-flow state ---- */

enum { LIST_NONE, LIST_NEW, LIST_OLD };

struct flow {
	__u32 next;    /* next flow of its list + 1 */
	__u32 list;    /* LIST_NONE / LIST_NEW / LIST_OLD */
	__s32 deficit; /* bytes it may still send this round */
	__u32 backlog; /* bytes queued */
	__u32 qlen;    /* packets queued */
	__u32 pad;
	struct codel_vars cvars;
};

struct flow flow_table[FQC_FLOWS];

struct codel_params cparams;

/* The round robin lists (flow index + 1). */
__u32 new_head, new_tail, old_head, old_tail;

__u32 qlen;    /* packets queued (mirrored in sch->q.qlen) */
__u32 backlog; /* bytes queued (mirrored in sch->qstats.backlog; CoDel's mtu check) */

/* Linux's xstats, as the twin keeps them */
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

static __always_inline void sync_stats(struct Qdisc *sch)
{
	sch->q.qlen = qlen;
	sch->qstats.backlog = backlog;
}

/* ---- flow lists (the twin's) ---- */

static __always_inline struct flow *flow_get(__u32 idx)
{
	return &flow_table[idx & (FQC_FLOWS - 1)];
}

static __always_inline void list_append(__u32 which, __u32 idx, struct flow *f)
{
	__u32 *head = which == LIST_NEW ? &new_head : &old_head;
	__u32 *tail = which == LIST_NEW ? &new_tail : &old_tail;

	f->next = 0;
	f->list = which;
	if (*tail)
		flow_get(*tail - 1)->next = idx + 1;
	else
		*head = idx + 1;
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

/* ---- a flow's FIFO ---- */

/* The slot of flow idx's FIFO, created empty on first use; NULL only if the map refuses it. */
static __always_inline struct stashed_queue *queue_slot(__u32 idx)
{
	struct stashed_queue empty = {}, *slot;

	slot = bpf_map_lookup_elem(&flow_queues, &idx);
	if (slot)
		return slot;
	bpf_map_update_elem(&flow_queues, &idx, &empty, BPF_NOEXIST);
	return bpf_map_lookup_elem(&flow_queues, &idx);
}

/* Takes the head packet of flow idx (a reference we now hold; NULL when empty), reports its
 * length and enqueue time, and takes it out of the flow's and the qdisc's counts. */
static __always_inline struct sk_buff *flow_pop(__u32 idx, __u32 *len, __u64 *enqueue_ns)
{
	struct flow *f = flow_get(idx);
	struct stashed_queue *slot;
	struct flow_queue *q;
	struct bpf_list_node *ln;
	struct skb_node *n;
	struct sk_buff *skb;

	if (!f->qlen)
		return NULL;
	slot = bpf_map_lookup_elem(&flow_queues, &idx);
	if (!slot)
		return NULL;
	q = bpf_kptr_xchg(&slot->queue, NULL);
	if (!q)
		return NULL;
	bpf_spin_lock(&q->lock);
	ln = bpf_list_pop_front(&q->packets);
	bpf_spin_unlock(&q->lock);
	q = bpf_kptr_xchg(&slot->queue, q);
	if (q) /* never: the slot was emptied above */
		bpf_obj_drop(q);
	if (!ln)
		return NULL;
	n = container_of(ln, struct skb_node, node);
	skb = bpf_kptr_xchg(&n->skb, NULL);
	*len = n->len;
	*enqueue_ns = n->enqueue_ns;
	bpf_obj_drop(n);

	f->qlen--;
	f->backlog -= *len;
	backlog -= *len;
	memory_usage -= *len;
	qlen--;
	return skb;
}

/* ---- enqueue ---- */

static __always_inline int fqc_drop(struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	sch->qstats.drops++;
	bpf_qdisc_skb_drop(skb, to_free);
	return NET_XMIT_DROP;
}

/* Linux's fq_codel_classify without filters. */
static __always_inline __u32 classify(struct sk_buff *skb, struct Qdisc *sch)
{
	__u32 prio = skb->priority;
	__u32 minor = prio & 0xffff;

	if ((prio & 0xffff0000) == (sch->handle & 0xffff0000) && minor > 0 && minor <= FQC_FLOWS)
		return minor - 1;
	return ((__u64)bpf_skb_get_hash(skb) * FQC_FLOWS) >> 32;
}

/* Linux's fq_codel_drop(): drops from the head of the flow with the largest backlog until half
 * of that backlog or `max_packets` packets are gone; returns the flow's index. */
static __always_inline __u32 drop_from_fattest(__u32 max_packets, struct bpf_sk_buff_ptr *to_free)
{
	__u32 maxbacklog = 0, fat = 0, threshold, count = 0, dropped_len = 0, len;
	struct sk_buff *skb;
	struct flow *f;
	__u64 tin;
	int k;

	bpf_for(k, 0, FQC_FLOWS) {
		f = &flow_table[k];
		if (f->backlog > maxbacklog) {
			maxbacklog = f->backlog;
			fat = k;
		}
	}
	threshold = maxbacklog >> 1;
	bpf_for(k, 0, FQC_DROP_BATCH) {
		len = 0;
		if (!flow_get(fat)->qlen)
			break;
		skb = flow_pop(fat, &len, &tin);
		dropped_len += len;
		count++;
		if (skb)
			bpf_qdisc_skb_drop(skb, to_free);
		if (!(count < max_packets && dropped_len < threshold))
			break;
	}
	/* As Linux: a stronger CoDel signal for a flow that overflowed. */
	flow_get(fat)->cvars.count += count;
	return fat;
}

SEC("struct_ops/bpf_fq_codel_enqueue")
int BPF_PROG(bpf_fq_codel_enqueue, struct sk_buff *skb, struct Qdisc *sch,
	     struct bpf_sk_buff_ptr *to_free)
{
	__u32 idx = classify(skb, sch);
	__u32 len = qdisc_pkt_len(skb);
	__u32 prev_qlen, dropped, fat;
	struct stashed_queue *slot;
	struct flow_queue *q;
	struct skb_node *n;
	struct sk_buff *old;
	struct flow *f;
	int memory_limited;

	/* The flow's FIFO, out of its slot (created on first use). */
	slot = queue_slot(idx);
	if (!slot)
		return fqc_drop(skb, sch, to_free);
	q = bpf_kptr_xchg(&slot->queue, NULL);
	if (!q) {
		q = bpf_obj_new(struct flow_queue);
		if (!q)
			return fqc_drop(skb, sch, to_free);
	}
	n = bpf_obj_new(struct skb_node);
	if (!n) {
		q = bpf_kptr_xchg(&slot->queue, q);
		if (q)
			bpf_obj_drop(q);
		return fqc_drop(skb, sch, to_free);
	}
	n->enqueue_ns = bpf_ktime_get_ns();
	n->len = len;
	n->pad = 0;
	old = bpf_kptr_xchg(&n->skb, skb);
	if (old) /* never: the node is new */
		bpf_kfree_skb(old);
	bpf_spin_lock(&q->lock);
	bpf_list_push_back(&q->packets, &n->node);
	bpf_spin_unlock(&q->lock);
	q = bpf_kptr_xchg(&slot->queue, q);
	if (q)
		bpf_obj_drop(q);

	/* flow_queue_add */
	f = flow_get(idx);
	f->qlen++;
	f->backlog += len;
	backlog += len;
	if (f->list == LIST_NONE) {
		list_append(LIST_NEW, idx, f);
		new_flow_count++;
		f->deficit = FQC_QUANTUM;
	}
	memory_usage += len;
	memory_limited = memory_usage > FQC_MEMORY_LIMIT;
	if (++qlen <= sch->limit && !memory_limited) {
		sync_stats(sch);
		return NET_XMIT_SUCCESS;
	}

	prev_qlen = qlen;
	fat = drop_from_fattest(FQC_DROP_BATCH, to_free);
	dropped = prev_qlen - qlen;
	drop_overlimit += dropped;
	if (memory_limited)
		drop_overmemory += dropped;
	sch->qstats.drops += dropped;
	sync_stats(sch);
	if (fat != idx)
		return NET_XMIT_SUCCESS;
	xmit_cn++;
	return NET_XMIT_CN;
}

/* ---- dequeue ---- */

/* What codel_dequeue() pops from: one flow. */
struct pop_ctx {
	__u32 idx;
	__u32 len; /* length of the last packet popped */
};

static __always_inline struct sk_buff *codel_pop(void *arg, __u32 *len, __u64 *enqueue_ns)
{
	struct pop_ctx *c = arg;
	struct sk_buff *skb;

	skb = flow_pop(c->idx, len, enqueue_ns);
	if (skb)
		c->len = *len;
	return skb;
}

static __always_inline void codel_drop(void *arg, struct sk_buff *skb)
{
	bpf_kfree_skb(skb);
	codel_drops++;
}

SEC("struct_ops/bpf_fq_codel_dequeue")
struct sk_buff *BPF_PROG(bpf_fq_codel_dequeue, struct Qdisc *sch)
{
	__u64 now = bpf_ktime_get_ns();
	struct sk_buff *skb = NULL;
	struct codel_stats st;
	struct pop_ctx pc;
	__u32 which, idx;
	struct flow *f;
	int i;

	/* Linux's fq_codel_dequeue loop ("goto begin"): one flow per round. */
	bpf_for(i, 0, FQC_MAX_DEQUEUE_ROUNDS) {
		if (new_head) {
			which = LIST_NEW;
			idx = new_head - 1;
		} else if (old_head) {
			which = LIST_OLD;
			idx = old_head - 1;
		} else {
			break; /* empty */
		}
		f = flow_get(idx);
		if (f->deficit <= 0) {
			/* Round used up: a new quantum, to the back of the old flows. */
			f->deficit += FQC_QUANTUM;
			list_pop_head(which, f);
			list_append(LIST_OLD, idx, f);
			continue;
		}
		__builtin_memset(&st, 0, sizeof(st));
		pc.idx = idx & (FQC_FLOWS - 1);
		pc.len = 0;
		skb = codel_dequeue(&pc, &backlog, &cparams, &f->cvars, &st, now, codel_pop, codel_drop);
		if (st.maxpacket > maxpacket)
			maxpacket = st.maxpacket;
		ecn_mark += st.ecn_mark;
		ce_mark += st.ce_mark;
		sch->qstats.drops += st.drop_count;
		if (!skb) {
			/* An empty new flow passes through the old list once, so that a flow sending
			 * one packet at a time cannot starve the old flows. */
			list_pop_head(which, f);
			if (which == LIST_NEW && old_head)
				list_append(LIST_OLD, idx, f);
			continue;
		}
		f->deficit -= pc.len;
		break;
	}

	sync_stats(sch);
	if (skb)
		bpf_qdisc_bstats_update(sch, skb);
	return skb;
}

/* ---- init, reset, destroy ---- */

SEC("struct_ops/bpf_fq_codel_init")
int BPF_PROG(bpf_fq_codel_init, struct Qdisc *sch, struct nlattr *opt, struct netlink_ext_ack *extack)
{
	sch->limit = FQC_LIMIT;
	codel_params_set(&cparams, FQC_TARGET_NS, FQC_INTERVAL_NS, FQC_CE_THRESHOLD_NS, FQC_MTU, FQC_ECN);
	return 0;
}

/* Frees every packet and forgets all state, as the twin's reset (the engine resets its maps and
 * globals; parameters stay). */
static __always_inline void fqc_purge(void)
{
	__u32 key;
	int k;

	/* Deleting a slot frees its FIFO object with the packets in it. */
	bpf_for(k, 0, FQC_FLOWS) {
		key = k;
		bpf_map_delete_elem(&flow_queues, &key);
		__builtin_memset(&flow_table[k], 0, sizeof(struct flow));
	}
	new_head = new_tail = old_head = old_tail = 0;
	qlen = backlog = 0;
	maxpacket = drop_overlimit = ecn_mark = new_flow_count = ce_mark = 0;
	memory_usage = drop_overmemory = new_flows_len = old_flows_len = 0;
	codel_drops = xmit_cn = 0;
}

SEC("struct_ops/bpf_fq_codel_reset")
void BPF_PROG(bpf_fq_codel_reset, struct Qdisc *sch)
{
	fqc_purge();
	sync_stats(sch);
}

/* Linux resets a qdisc before destroying it; purging again costs little. */
SEC("struct_ops/bpf_fq_codel_destroy")
void BPF_PROG(bpf_fq_codel_destroy, struct Qdisc *sch)
{
	fqc_purge();
}

SEC(".struct_ops.link")
struct Qdisc_ops fq_codel = {
	.enqueue = (void *)bpf_fq_codel_enqueue,
	.dequeue = (void *)bpf_fq_codel_dequeue,
	.init = (void *)bpf_fq_codel_init,
	.reset = (void *)bpf_fq_codel_reset,
	.destroy = (void *)bpf_fq_codel_destroy,
	.id = "bpf_fq_codel",
};

char _license[] SEC("license") = "GPL";
