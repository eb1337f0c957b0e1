/* Reads the packet through a dynptr (the Ethernet type with bpf_dynptr_read, the IPv4 protocol
 * through bpf_dynptr_slice); with skb->mark 99 it drops the packet first and then reads: a
 * dynptr used after its packet was released. */
#include "ops_common.h"

__u16 eth_type;
__u8 ip_proto;
long read_ret = -1;

SEC("struct_ops/dynptr_enqueue")
int BPF_PROG(dynptr_enqueue, struct sk_buff *skb, struct Qdisc *sch, struct bpf_sk_buff_ptr *to_free)
{
	struct bpf_dynptr ptr;
	__u8 eth[14];
	__u8 *ip;

	if (bpf_dynptr_from_skb((struct __sk_buff *)skb, 0, &ptr))
		goto drop;
	if (skb->mark == 99) {
		bpf_qdisc_skb_drop(skb, to_free);
		read_ret = bpf_dynptr_read(eth, sizeof(eth), &ptr, 0, 0);
		return NET_XMIT_DROP;
	}
	read_ret = bpf_dynptr_read(eth, sizeof(eth), &ptr, 0, 0);
	if (read_ret == 0)
		eth_type = (eth[12] << 8) | eth[13];
	ip = bpf_dynptr_slice(&ptr, 14, NULL, 20);
	if (ip)
		ip_proto = ip[9];
	return queue_skb(skb, sch, to_free);
drop:
	bpf_qdisc_skb_drop(skb, to_free);
	return NET_XMIT_DROP;
}
OPS_DEQUEUE_INIT_RESET_DESTROY(dynptr)

SEC(".struct_ops.link")
struct Qdisc_ops dynptr = {
	.enqueue = (void *)dynptr_enqueue, .dequeue = (void *)dynptr_dequeue, .init = (void *)dynptr_init,
	.reset = (void *)dynptr_reset, .destroy = (void *)dynptr_destroy, .id = "dynptr",
};
