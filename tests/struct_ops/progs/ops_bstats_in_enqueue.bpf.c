/* Calls bpf_qdisc_bstats_update from enqueue: Linux allows it in dequeue only. */
#include "ops_common.h"

SEC("struct_ops/bstats_enqueue")
int BPF_PROG(bstats_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	bpf_qdisc_bstats_update(sch, skb);
	return queue_skb(skb, sch, to_free);
}
OPS_DEQUEUE_INIT_RESET_DESTROY(bstats)

SEC(".struct_ops.link")
struct Qdisc_ops bstats = {
	.enqueue = (void *)bstats_enqueue, .dequeue = (void *)bstats_dequeue, .init = (void *)bstats_init,
	.reset = (void *)bstats_reset, .destroy = (void *)bstats_destroy, .id = "bstats",
};
