/* Qdisc_ops without a destroy program: Linux's bpf_qdisc_validate refuses it. */
#include "ops_common.h"

SEC("struct_ops/missing_enqueue")
int BPF_PROG(missing_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	return queue_skb(skb, sch, to_free);
}
OPS_DEQUEUE_INIT_RESET_DESTROY(missing)

SEC(".struct_ops.link")
struct Qdisc_ops missing = {
	.enqueue = (void *)missing_enqueue,
	.dequeue = (void *)missing_dequeue,
	.init = (void *)missing_init,
	.reset = (void *)missing_reset,
	.id = "missing",
};
