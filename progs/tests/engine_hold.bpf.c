/* Holds every packet `hold` ns (default 5 ms) and says so from the ENQUEUE side: enqueue returns
 * THROTTLE with ctx->delay = hold, so the watchdog must wake the dequeue side then (the seed's
 * rule). Dequeue sends the head once it is due; before that it hands out nothing, or, with
 * `dequeue_throttle` set, returns THROTTLE with ctx->delay = `dequeue_delay` (0 or 1 ns shows the
 * watchdog's minimum slack; a delay near 2^64 shows the saturated sum). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>
#include <bpf/bpf_endian.h>

const volatile __u64 hold = 5000000;
const volatile __u32 dequeue_throttle = 0;
const volatile __u64 dequeue_delay = 0;

struct hold_key {
	__u64 due; /* big-endian */
	__u64 seq; /* big-endian */
};

struct slot {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 4096);
	__type(key, struct hold_key);
	__type(value, struct slot);
} held SEC(".maps");

__u64 seq;

SEC("qdisc/enqueue")
int hold_enqueue(struct sch_bpf_ctx *ctx)
{
	struct hold_key key;
	struct slot empty = {};

	key.due = bpf_cpu_to_be64(bpf_ktime_get_ns() + hold);
	key.seq = bpf_cpu_to_be64(seq++);
	if (map_put_skb(&held, &key, &empty, ctx->skb))
		return SCH_BPF_DROP;
	ctx->delay = hold;
	return SCH_BPF_THROTTLE;
}

struct head {
	struct hold_key key;
	__u64 now;
	struct sk_buff *skb; /* taken only when due */
};

static long take_if_due(void *map, struct hold_key *key, struct slot *s, struct head *h)
{
	h->key = *key;
	if (bpf_be64_to_cpu(key->due) <= h->now)
		h->skb = bpf_kptr_xchg(&s->skb, NULL);
	return 1;
}

SEC("qdisc/dequeue")
int hold_dequeue(struct sch_bpf_ctx *ctx)
{
	struct head h = {};

	ctx->skb = NULL;
	h.now = bpf_ktime_get_ns();
	if (bpf_for_each_map_elem(&held, take_if_due, &h, 0) <= 0)
		return SCH_BPF_DEQUEUED; /* empty */
	if (!h.skb) {
		if (!dequeue_throttle)
			return SCH_BPF_DEQUEUED; /* nothing due: the enqueue side armed the watchdog */
		ctx->delay = dequeue_delay;
		return SCH_BPF_THROTTLE;
	}
	bpf_map_delete_elem(&held, &h.key);
	ctx->skb = skb_view(h.skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
