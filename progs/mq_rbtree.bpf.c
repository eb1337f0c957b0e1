/* mq_rbtree: the seed's way of being multi-queue (RFC v6, RBTREE_OF_MAPS) — one program that
 * keeps one rbtree of packet references per TX queue of its device, spreads packets over them
 * by the flow hash exactly as Linux's skb_tx_hash spreads them over TX queues
 * (reciprocal_scale(skb_get_hash, num_tx_queues)), records the queue in skb->queue_mapping, and
 * serves the non-empty queues round robin, one packet per turn, in queue order starting after
 * the queue served last. That is what bpfq's `mq` root does with a FIFO per TX queue (docs/
 * qdiscs/mq.md), but in one program instead of independent instances: it is the example, not a
 * way to run queues on several cores.
 *
 * The queues: tx_queues (ARRAY_OF_MAPS, one inner RBTREE per TX queue, keyed by a big-endian
 * sequence number). A program cannot create maps; the setup installs one inner map per TX
 * queue of the device and sets num_tx_queues (docs/qdiscs/mq.md, "The seed's way").
 * The turns: active (RBTREE_OF_MAPS) holds each non-empty queue once, keyed big-endian by
 * (round << 32 | queue). With `cur_round` the round being served and `next_queue` the queue after
 * the one served last, a queue that becomes non-empty joins this round if it comes at or after
 * next_queue, else the next; a queue served and still non-empty joins the next round. Popping
 * the minimum then visits the queues in index order from next_queue on, wrapping around.
 *
 * Parameter: limit (packets per TX queue, default 1000). Maps user space reads: tx_qlen (the
 * packets queued per TX queue). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>
#include <bpf/bpf_endian.h>

#define MAX_TX_QUEUES 64

const volatile __u32 limit = 1000;
/* Set from the device (`link add dev D numtxqueues N`) by the setup. */
const volatile __u32 num_tx_queues = 1;

struct slot {
	struct sk_buff __kptr_ref *skb;
};

/* Never used by the programs: it makes clang describe struct slot fully in BTF, which the
 * loader needs to find the inner maps' packet-reference field (see engine_flow_rr.bpf.c). */
struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, const struct slot);
} slot_btf SEC(".maps");

/* One TX queue's packets, oldest first. */
struct tx_queue_packets {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct slot);
};

/* Every TX queue's packets, by queue (installed by the setup). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MAX_TX_QUEUES);
	__type(key, __u32);
	__array(values, struct tx_queue_packets);
} tx_queues SEC(".maps");

/* The non-empty TX queues in the order they are served. */
struct {
	__uint(type, BPF_MAP_TYPE_RBTREE_OF_MAPS);
	__uint(max_entries, MAX_TX_QUEUES);
	__type(key, __u64);
	__array(values, struct tx_queue_packets);
} active SEC(".maps");

/* Packets queued per TX queue. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_TX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} tx_qlen SEC(".maps");

/* The round under which each active queue waits in `active`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_TX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} tx_round SEC(".maps");

__u64 seq;        /* packet sequence numbers: order within a queue */
__u32 cur_round;      /* the round being served */
__u32 next_queue; /* the queue after the one served last */

/* Puts queue q (its packets in map) in line for round r. */
static __always_inline void activate(__u32 q, void *map, __u32 r)
{
	__u64 key = bpf_cpu_to_be64(((__u64)r << 32) | q);
	__u32 *at = bpf_map_lookup_elem(&tx_round, &q);

	if (at)
		*at = r;
	bpf_map_update_elem(&active, &key, &map, BPF_NOEXIST);
}

SEC("qdisc/enqueue")
int mq_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	struct slot empty = {};
	__u32 n = num_tx_queues, q, *qlen;
	void *map;
	__u64 key;

	if (n == 0 || n > MAX_TX_QUEUES)
		return SCH_BPF_DROP;
	/* skb_tx_hash: reciprocal_scale of the flow hash over the queues. */
	q = ((__u64)bpf_skb_get_hash(skb_ref(skb)) * n) >> 32;
	map = bpf_map_lookup_elem(&tx_queues, &q);
	qlen = bpf_map_lookup_elem(&tx_qlen, &q);
	if (!map || !qlen || *qlen >= limit)
		return SCH_BPF_DROP;
	key = bpf_cpu_to_be64(seq);
	if (map_put_skb(map, &key, &empty, skb))
		return SCH_BPF_DROP;
	skb->queue_mapping = q; /* skb_set_queue_mapping: dequeue learns the queue from it */
	seq++;
	*qlen += 1;
	if (*qlen == 1)
		activate(q, map, q >= next_queue ? cur_round : cur_round + 1);
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int mq_dequeue(struct sch_bpf_ctx *ctx)
{
	struct rbtree_head h;
	void *map = NULL;
	__u32 q, *qlen, *r;

	ctx->skb = NULL;
	if (bpf_map_pop_elem(&active, &map) || !map)
		return SCH_BPF_DEQUEUED; /* every queue is empty */
	if (!rbtree_take_head(map, &h))
		return SCH_BPF_DEQUEUED;
	bpf_map_delete_elem(map, &h.key);
	if (!h.skb)
		return SCH_BPF_DEQUEUED;
	q = skb_view(h.skb)->queue_mapping;
	r = bpf_map_lookup_elem(&tx_round, &q);
	if (r)
		cur_round = *r;
	next_queue = q + 1;
	qlen = bpf_map_lookup_elem(&tx_qlen, &q);
	if (qlen && *qlen > 0 && --*qlen > 0) /* more to send: its turn comes next round */
		activate(q, map, cur_round + 1);
	ctx->skb = skb_view(h.skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
