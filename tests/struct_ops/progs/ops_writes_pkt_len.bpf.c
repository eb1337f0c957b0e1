/* Writes qdisc_skb_cb(skb)->pkt_len: of skb->cb only the qdisc_skb_cb data is writable. */
#include "ops_common.h"

SEC("struct_ops/wpkt_enqueue")
int BPF_PROG(wpkt_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	qdisc_skb_cb(skb)->pkt_len = 60;
	return queue_skb(skb, sch, to_free);
}
OPS_DEQUEUE_INIT_RESET_DESTROY(wpkt)

SEC(".struct_ops.link")
struct Qdisc_ops wpkt = {
	.enqueue = (void *)wpkt_enqueue, .dequeue = (void *)wpkt_dequeue, .init = (void *)wpkt_init,
	.reset = (void *)wpkt_reset, .destroy = (void *)wpkt_destroy, .id = "wpkt",
};
