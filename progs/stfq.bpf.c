/* stfq: Start-time Fair Queueing (P. Goyal, H. M. Vin, H. Cheng, "Start-time Fair Queuing: A
 * Scheduling Algorithm for Integrated Services Packet Switching Networks", SIGCOMM 1996). There is
 * no Linux sch_stfq.c: this follows the paper.
 *
 * Packet j of flow f arriving at time t gets a start tag S = max(v(t), F_f) and a finish tag
 * F_f = S + len / w_f; packets are served in increasing start tag (arrival order among equal
 * tags). The virtual time v(t) is the start tag of the packet in service, i.e. of the last packet
 * dequeued; when a packet arrives to an empty qdisc (the busy period is over) v is the largest
 * finish tag of any packet served so far, as the paper sets it at the end of a busy period.
 *
 * Flows are bpf_skb_get_hash (5-tuple). A flow's weight w_f is flow_weight[skb->priority] (a
 * HASH map user space fills: key u32 priority, value u32 weight >= 1), else `weight` (default 1):
 * set skb->priority per flow with a filter (skbedit priority) to give flows different shares.
 * Tags are in bytes * 2^16 / weight (u64).
 *
 * Packets are kptrs in an RBTREE keyed by (start tag, arrival number), big-endian. Per-flow finish
 * tags live in an LRU_HASH (a forgotten flow starts again at v, as a new flow would).
 * Parameters: limit (packets, default 1000, 1..65535): the arrival is dropped when full;
 * weight (default weight, default 1). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpf/bpf_endian.h>

#define MAX_PACKETS 65536
#define MAX_FLOWS 65536
#define TAG_SHIFT 16
#define EINVAL 22

const volatile bpfq_count limit = 1000;
const volatile bpfq_count weight = 1;

struct tag_key {
	__u64 start_be;
	__u64 seq_be;
};

struct pkt {
	struct sk_buff __kptr_ref *skb;
	__u64 finish;
	__u32 flow;
	__u32 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, MAX_PACKETS);
	__type(key, struct tag_key);
	__type(value, struct pkt);
} queue SEC(".maps");

/* Weights by skb->priority, filled by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, __u32);
} flow_weight SEC(".maps");

/* Finish tag of each flow's last packet. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_FLOWS);
	__type(key, __u32);
	__type(value, __u64);
} flow_finish SEC(".maps");

__u64 vtime;      /* v(t): start tag of the packet in service */
__u64 max_finish; /* the largest finish tag served */
__u64 seq;
__u32 qlen;
__u32 backlog;

SEC("qdisc/init")
int stfq_init(struct sch_bpf_ctx *ctx)
{
	if (limit == 0 || limit >= MAX_PACKETS) {
		bpf_printk("stfq: limit %u not in 1..%u packets", limit, MAX_PACKETS - 1);
		return -EINVAL;
	}
	if (weight == 0) {
		bpf_printk("stfq: weight must be at least 1");
		return -EINVAL;
	}
	return 0;
}

SEC("qdisc/enqueue")
int stfq_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u32 len = skb->wire_len;
	__u32 prio = skb->priority;
	__u32 h = bpf_skb_get_hash(skb_ref(skb));
	struct pkt empty = {}, *p;
	struct tag_key key;
	struct sk_buff *ref;
	__u64 start, finish, *ff;
	__u32 w = weight, *wp;

	if (qlen >= limit)
		return SCH_BPF_DROP;
	if (qlen == 0) /* a new busy period */
		vtime = max_finish;
	wp = bpf_map_lookup_elem(&flow_weight, &prio);
	if (wp && *wp)
		w = *wp;
	ff = bpf_map_lookup_elem(&flow_finish, &h);
	start = vtime;
	if (ff && *ff > start)
		start = *ff;
	finish = start + (((__u64)len << TAG_SHIFT) / w);

	key.start_be = bpf_cpu_to_be64(start);
	key.seq_be = bpf_cpu_to_be64(seq);
	empty.finish = finish;
	empty.flow = h;
	empty.len = len;
	if (bpf_map_update_elem(&queue, &key, &empty, BPF_NOEXIST))
		return SCH_BPF_DROP;
	p = bpf_map_lookup_elem(&queue, &key);
	if (!p)
		return SCH_BPF_DROP;
	ref = bpf_skb_acquire(skb_ref(skb));
	if (!ref) {
		bpf_map_delete_elem(&queue, &key);
		return SCH_BPF_DROP;
	}
	ref = bpf_kptr_xchg(&p->skb, ref);
	if (ref) /* cannot happen: the entry is new */
		bpf_skb_release(ref);
	if (ff)
		*ff = finish;
	else
		bpf_map_update_elem(&flow_finish, &h, &finish, BPF_ANY);
	seq++;
	qlen++;
	backlog += len;
	return SCH_BPF_QUEUED;
}

struct head {
	struct tag_key key;
	struct sk_buff *skb;
	__u64 finish;
	__u32 len;
};

/* for_each callback: the first entry is the smallest start tag; move its packet out and stop. */
static long head_visit(void *map, struct tag_key *key, struct pkt *p, struct head *out)
{
	out->key = *key;
	out->finish = p->finish;
	out->len = p->len;
	out->skb = bpf_kptr_xchg(&p->skb, NULL);
	return 1;
}

SEC("qdisc/dequeue")
int stfq_dequeue(struct sch_bpf_ctx *ctx)
{
	struct head h = {};

	ctx->skb = NULL;
	if (bpf_for_each_map_elem(&queue, head_visit, &h, 0) <= 0)
		return SCH_BPF_DEQUEUED;
	bpf_map_delete_elem(&queue, &h.key);
	qlen--;
	backlog -= h.len;
	vtime = bpf_be64_to_cpu(h.key.start_be);
	if (h.finish > max_finish)
		max_finish = h.finish;
	if (h.skb)
		ctx->skb = skb_view(h.skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
