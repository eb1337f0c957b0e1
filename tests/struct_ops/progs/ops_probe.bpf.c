/* Reads the kernel fields bpfq maps onto its packet and qdisc into `seen`, writes tstamp and the
 * qdisc_skb_cb data, then queues the packet. Built against bpfq's vmlinux.h and against one whose
 * structs have their fields in another order (reordered/vmlinux.h): CO-RE must read the same. */
#include "ops_common.h"

struct probe_seen {
	__u64 tstamp;
	__u32 len, pkt_len, priority, hash, mark, protocol, limit, qlen, mtu, hard_header_len, has_sk;
	__u32 cb0;
} seen;

SEC("struct_ops/probe_enqueue")
int BPF_PROG(probe_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	struct qdisc_skb_cb *cb = (struct qdisc_skb_cb *)skb->cb;

	seen.tstamp = skb->tstamp;
	seen.len = skb->len;
	seen.pkt_len = cb->pkt_len;
	seen.priority = skb->priority;
	seen.hash = skb->hash;
	seen.mark = skb->mark;
	seen.protocol = skb->protocol;
	seen.limit = sch->limit;
	seen.qlen = sch->q.qlen;
	seen.mtu = sch->dev_queue->dev->mtu;
	seen.hard_header_len = sch->dev_queue->dev->hard_header_len;
	seen.has_sk = skb->sk != NULL;
	skb->tstamp = skb->tstamp + 1000;
	cb->data[0] = 0x5a;
	seen.cb0 = cb->data[0];
	return queue_skb(skb, sch, to_free);
}
OPS_DEQUEUE_INIT_RESET_DESTROY(probe)

SEC(".struct_ops.link")
struct Qdisc_ops probe = {
	.enqueue = (void *)probe_enqueue, .dequeue = (void *)probe_dequeue, .init = (void *)probe_init,
	.reset = (void *)probe_reset, .destroy = (void *)probe_destroy, .id = "probe",
};
