/* Writes through skb->sk, a pointer the program may only read through. */
#include "ops_common.h"

SEC("struct_ops/wsock_enqueue")
int BPF_PROG(wsock_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	struct sock *sk = skb->sk;

	if (sk)
		sk->sk_mark = 7;
	return queue_skb(skb, sch, to_free);
}
OPS_DEQUEUE_INIT_RESET_DESTROY(wsock)

SEC(".struct_ops.link")
struct Qdisc_ops wsock = {
	.enqueue = (void *)wsock_enqueue, .dequeue = (void *)wsock_dequeue, .init = (void *)wsock_init,
	.reset = (void *)wsock_reset, .destroy = (void *)wsock_destroy, .id = "wsock",
};
