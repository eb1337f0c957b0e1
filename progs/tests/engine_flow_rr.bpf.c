/* Per-flow round robin with an RBTREE_OF_MAPS, the seed's multi-queue (RFC v6 2c): each flow has
 * its own rbtree of packet references (keyed by a big-endian sequence number), and the active
 * flows wait in an RBTREE_OF_MAPS keyed by the big-endian turn at which each is served next.
 * Dequeue pops the flow with the smallest turn, sends its oldest packet and, if the flow has
 * more, puts it back with a new turn behind every other active flow: one packet per flow per
 * round.
 *
 * A program cannot create maps, so user space installs one inner map per flow in `flow_queues`
 * (Object::create_inner_map + MapOfMaps::set_inner), where idle flows' queues stay. The flow of
 * a packet is skb->mark >> 16 (tests tag flows that way); NFLOWS flows.
 * Parameter: limit (packets per flow, default 100). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>
#include <bpf/bpf_endian.h>

#define NFLOWS 4

const volatile __u32 limit = 100;

struct slot {
	struct sk_buff __kptr_ref *skb;
};

/* Never used by the programs. clang reaches struct slot only through the named inner-map
 * definition below and so describes it in BTF as a bare forward declaration, but the loader
 * needs its layout to find the inner maps' packet-reference fields. clang describes the value
 * type of a top-level map fully, and then every mention of the struct refers to that (the
 * `const` keeps clang from reusing the pointer type it built for the inner definition). */
struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, const struct slot);
} slot_btf SEC(".maps");

/* One flow's packets, oldest first. */
struct flow_packets {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct slot);
};

/* Every flow's queue, by flow number (installed by user space). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, NFLOWS);
	__type(key, __u32);
	__array(values, struct flow_packets);
} flow_queues SEC(".maps");

/* The active flows' queues, by the turn at which they are served next. */
struct {
	__uint(type, BPF_MAP_TYPE_RBTREE_OF_MAPS);
	__uint(max_entries, NFLOWS);
	__type(key, __u64);
	__array(values, struct flow_packets);
} active_flows SEC(".maps");

/* Packets queued per flow (user space reads it as the per-flow backlog). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NFLOWS);
	__type(key, __u32);
	__type(value, __u32);
} flow_qlen SEC(".maps");

__u64 seq;       /* packet sequence numbers: order within a flow */
__u64 next_turn; /* turns: order of the active flows */

SEC("qdisc/enqueue")
int rr_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u32 flow = (skb->mark >> 16) % NFLOWS;
	struct slot empty = {};
	__u32 *qlen;
	void *q;
	__u64 key;

	q = bpf_map_lookup_elem(&flow_queues, &flow);
	qlen = bpf_map_lookup_elem(&flow_qlen, &flow);
	if (!q || !qlen || *qlen >= limit)
		return SCH_BPF_DROP;
	key = bpf_cpu_to_be64(seq);
	if (map_put_skb(q, &key, &empty, skb))
		return SCH_BPF_DROP;
	skb->cb[0] = flow; /* dequeue learns the flow from the packet */
	seq++;
	*qlen += 1;
	if (*qlen == 1) { /* the flow becomes active: last in the round */
		key = bpf_cpu_to_be64(next_turn++);
		bpf_map_update_elem(&active_flows, &key, &q, BPF_NOEXIST);
	}
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int rr_dequeue(struct sch_bpf_ctx *ctx)
{
	struct rbtree_head h;
	void *q = NULL;
	__u32 flow, *qlen;
	__u64 turn;

	ctx->skb = NULL;
	if (bpf_map_pop_elem(&active_flows, &q) || !q)
		return SCH_BPF_DEQUEUED; /* no active flow */
	if (!rbtree_take_head(q, &h))
		return SCH_BPF_DEQUEUED;
	bpf_map_delete_elem(q, &h.key);
	if (!h.skb)
		return SCH_BPF_DEQUEUED;
	flow = skb_view(h.skb)->cb[0] % NFLOWS;
	qlen = bpf_map_lookup_elem(&flow_qlen, &flow);
	if (qlen && *qlen > 0 && --*qlen > 0) { /* more to send: back of the round */
		turn = bpf_cpu_to_be64(next_turn++);
		bpf_map_update_elem(&active_flows, &turn, &q, BPF_NOEXIST);
	}
	ctx->skb = skb_view(h.skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
