/* Strict priority, the seed's way (sch_bpf RFC v6): every packet is a reference kept in the
 * value of an rbtree map keyed by priority << 32 | sequence number, stored big-endian so that
 * the map's memcmp order is numeric order. The minimum key leaves first: priority 0 before 1,
 * and arrival order within a priority. skb->priority is the priority (above `bands - 1` it is
 * clamped to the last band).
 *
 * Parameters (globals; `bpf obj engine_strict_prio.bpf.o limit 100 bands 4` on the CLI):
 *   limit  packets queued at most (default 1000); more are dropped
 *   bands  priorities 0 .. bands-1 (default 8, at most 16)
 * Stats for user space: the `stats` map, per band {enqueued, dropped, dequeued}. */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>
#include <bpf/bpf_endian.h>

const volatile __u32 limit = 1000;
const volatile __u32 bands = 8;

#define MAX_BANDS 16

struct slot {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 65536);
	__type(key, __u64); /* big-endian priority << 32 | seq */
	__type(value, struct slot);
} queue SEC(".maps");

struct band_stats {
	__u64 enqueued;
	__u64 dropped;
	__u64 dequeued;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BANDS);
	__type(key, __u32);
	__type(value, struct band_stats);
} stats SEC(".maps");

__u32 seq;  /* arrival counter (wraps after 2^32 packets: fine for a test program) */
__u32 qlen; /* packets in `queue` */

static __always_inline __u32 band_of(__u32 priority)
{
	__u32 n = bands == 0 ? 1 : bands < MAX_BANDS ? bands : MAX_BANDS;
	__u32 last = n - 1;

	return priority < last ? priority : last;
}

SEC("qdisc/enqueue")
int prio_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 band = band_of(ctx->skb->priority);
	struct band_stats *st = bpf_map_lookup_elem(&stats, &band);
	struct slot empty = {};
	__u64 key;

	if (!st)
		return SCH_BPF_DROP;
	if (qlen >= limit) {
		st->dropped++;
		return SCH_BPF_DROP;
	}
	key = bpf_cpu_to_be64((__u64)band << 32 | seq);
	if (map_put_skb(&queue, &key, &empty, ctx->skb))
		return SCH_BPF_DROP;
	seq++;
	qlen++;
	st->enqueued++;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int prio_dequeue(struct sch_bpf_ctx *ctx)
{
	struct rbtree_head h;
	struct band_stats *st;
	__u32 band;

	ctx->skb = NULL;
	if (!rbtree_take_head(&queue, &h))
		return SCH_BPF_DEQUEUED; /* empty */
	bpf_map_delete_elem(&queue, &h.key);
	qlen--;
	if (!h.skb)
		return SCH_BPF_DEQUEUED;
	band = bpf_be64_to_cpu(h.key) >> 32;
	st = bpf_map_lookup_elem(&stats, &band);
	if (st)
		st->dequeued++;
	ctx->skb = skb_view(h.skb); /* our reference goes out with the packet */
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
