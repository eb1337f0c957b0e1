/* Misbehaves by skb->mark % 3: 0 queues the packet, 1 stores it in an object it then loses
 * (a leaked object, whose packet goes with it), 2 neither stores nor drops it (a leaked
 * reference). */
#include "ops_common.h"

SEC("struct_ops/leaky_enqueue")
int BPF_PROG(leaky_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	struct skb_node *n;
	struct sk_buff *old;

	switch (skb->mark % 3) {
	case 0:
		return queue_skb(skb, sch, to_free);
	case 1:
		n = bpf_obj_new(struct skb_node);
		if (!n) {
			bpf_qdisc_skb_drop(skb, to_free);
			return NET_XMIT_DROP;
		}
		old = bpf_kptr_xchg(&n->skb, skb);
		if (old)
			bpf_kfree_skb(old);
		return NET_XMIT_SUCCESS; /* n is lost here */
	default:
		return NET_XMIT_SUCCESS; /* so is skb */
	}
}
OPS_DEQUEUE_INIT_RESET_DESTROY(leaky)

SEC(".struct_ops.link")
struct Qdisc_ops leaky = {
	.enqueue = (void *)leaky_enqueue, .dequeue = (void *)leaky_dequeue, .init = (void *)leaky_init,
	.reset = (void *)leaky_reset, .destroy = (void *)leaky_destroy, .id = "leaky",
};
