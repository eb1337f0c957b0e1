/* Supplies Qdisc_ops.change, which a bpf qdisc cannot. */
#include "ops_common.h"

SEC("struct_ops/chg_enqueue")
int BPF_PROG(chg_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	return queue_skb(skb, sch, to_free);
}
OPS_DEQUEUE_INIT_RESET_DESTROY(chg)

SEC("struct_ops/chg_change")
int BPF_PROG(chg_change, struct Qdisc *sch, struct nlattr *opt, struct netlink_ext_ack *extack)
{
	return 0;
}

SEC(".struct_ops.link")
struct Qdisc_ops chg = {
	.enqueue = (void *)chg_enqueue, .dequeue = (void *)chg_dequeue, .init = (void *)chg_init,
	.reset = (void *)chg_reset, .destroy = (void *)chg_destroy, .change = (void *)chg_change,
	.id = "chg",
};
