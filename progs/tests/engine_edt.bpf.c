/* EDT pacing, the qdisc half: packets wait in an rbtree keyed by their departure time
 * (skb->tstamp, set by engine_edt_clsact.bpf.c) and then arrival, both big-endian; dequeue
 * sends the head once its time has come and otherwise THROTTLEs until then, so the watchdog
 * wakes the qdisc exactly at the departure time. Over `limit` a packet is dropped and its wire
 * time is given back to its flow in the map shared with the clsact program (edt_next_send),
 * so the flow's next packet is not delayed by one that never left.
 * Parameters: limit (packets, default 100), rate (bytes per second, as the clsact program's). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>
#include <bpf/bpf_endian.h>

#include "engine_edt.h"

const volatile __u32 limit = 100;
const volatile __u64 rate = 1000000;

struct edt_key {
	__u64 depart; /* big-endian */
	__u64 seq;    /* big-endian */
};

struct slot {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 1024);
	__type(key, struct edt_key);
	__type(value, struct slot);
} departures SEC(".maps");

__u64 seq;
__u32 qlen;
__u64 refunded_ns; /* wire time given back for dropped packets */

SEC("qdisc/enqueue")
int edt_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	struct edt_key key;
	struct slot empty = {};

	if (qlen >= limit) {
		__u32 flow = edt_flow(skb);
		__u64 *next = bpf_map_lookup_elem(&edt_next_send, &flow);
		__u64 d = edt_duration(skb->len, rate);

		if (next && *next >= d) {
			*next -= d;
			refunded_ns += d;
		}
		return SCH_BPF_DROP;
	}
	key.depart = bpf_cpu_to_be64(skb->tstamp);
	key.seq = bpf_cpu_to_be64(seq);
	if (map_put_skb(&departures, &key, &empty, skb))
		return SCH_BPF_DROP;
	seq++;
	qlen++;
	return SCH_BPF_QUEUED;
}

struct head {
	struct edt_key key;
	__u64 now;
	struct sk_buff *skb; /* taken only when due */
};

static long take_if_due(void *map, struct edt_key *key, struct slot *s, struct head *h)
{
	h->key = *key;
	if (bpf_be64_to_cpu(key->depart) <= h->now)
		h->skb = bpf_kptr_xchg(&s->skb, NULL);
	return 1;
}

SEC("qdisc/dequeue")
int edt_dequeue(struct sch_bpf_ctx *ctx)
{
	struct head h = {};
	__u64 depart;

	ctx->skb = NULL;
	h.now = bpf_ktime_get_ns();
	if (bpf_for_each_map_elem(&departures, take_if_due, &h, 0) <= 0)
		return SCH_BPF_DEQUEUED; /* empty */
	depart = bpf_be64_to_cpu(h.key.depart);
	if (!h.skb && depart > h.now) {
		ctx->delay = depart - h.now; /* the watchdog wakes us at the departure time */
		return SCH_BPF_THROTTLE;
	}
	bpf_map_delete_elem(&departures, &h.key);
	qlen--;
	ctx->skb = skb_view(h.skb); /* NULL only for a slot that never got its packet */
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
