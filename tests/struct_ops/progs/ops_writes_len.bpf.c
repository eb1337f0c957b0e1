/* Writes skb->len: every sk_buff field but tstamp and the qdisc_skb_cb data is read-only. */
#include "ops_common.h"

SEC("struct_ops/wlen_enqueue")
int BPF_PROG(wlen_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	skb->len = 60;
	return queue_skb(skb, sch, to_free);
}
OPS_DEQUEUE_INIT_RESET_DESTROY(wlen)

SEC(".struct_ops.link")
struct Qdisc_ops wlen = {
	.enqueue = (void *)wlen_enqueue, .dequeue = (void *)wlen_dequeue, .init = (void *)wlen_init,
	.reset = (void *)wlen_reset, .destroy = (void *)wlen_destroy, .id = "wlen",
};
