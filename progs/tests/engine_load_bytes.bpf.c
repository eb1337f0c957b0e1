/* Engine test: bpf_skb_load_bytes from a tc program (the context is the packet) and from a
 * qdisc program (ctx->skb). cb[0] is the offset, cb[1] the length, cb[2] the mode (1: a buffer
 * outside program memory). The tc program leaves the return code in cb[3] and the first 4
 * bytes of its buffer, filled with 0xaa beforehand, in cb[4]; the qdisc program leaves them in
 * `load_rc` and `loaded` and drops the packet. */
#include <bpfq/bpf/sch_bpf.h>

__u8 loaded[64];
int load_rc;

static __always_inline int load(struct __sk_buff *skb, void *buf)
{
	__u32 len = skb->cb[1];

	if (skb->cb[2] == 1)
		return bpf_skb_load_bytes(skb, skb->cb[0], (void *)8, 4);
	if (len > 64)
		len = 64;
	return bpf_skb_load_bytes(skb, skb->cb[0], buf, len);
}

SEC("tc")
int load_tc(struct __sk_buff *skb)
{
	__u8 buf[64];

	__builtin_memset(buf, 0xaa, sizeof buf);
	skb->cb[3] = load(skb, buf);
	__builtin_memcpy(&skb->cb[4], buf, 4);
	return 0;
}

SEC("qdisc/enqueue")
int load_enqueue(struct sch_bpf_ctx *ctx)
{
	__builtin_memset(loaded, 0xaa, sizeof loaded);
	load_rc = load(ctx->skb, loaded);
	return SCH_BPF_DROP;
}

SEC("qdisc/dequeue")
int load_dequeue(struct sch_bpf_ctx *ctx)
{
	ctx->skb = NULL;
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
