/* Writes its own lock word (program memory) before taking the lock: a lock that never frees.
 * bpfq must end the run, not spin forever; later runs then work. Only with skb->mark 7. */
#include "ops_common.h"

SEC("struct_ops/hlock_enqueue")
int BPF_PROG(hlock_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	if (skb->mark == 7)
		*(volatile __u32 *)&q_lock = 0x5eed;
	return queue_skb(skb, sch, to_free);
}
OPS_DEQUEUE_INIT_RESET_DESTROY(hlock)

SEC(".struct_ops.link")
struct Qdisc_ops hlock = {
	.enqueue = (void *)hlock_enqueue, .dequeue = (void *)hlock_dequeue, .init = (void *)hlock_init,
	.reset = (void *)hlock_reset, .destroy = (void *)hlock_destroy, .id = "hlock",
};
