/* prog check test: qdisc/init decides from the parameters. limit 0 is refused (-EINVAL), and
 * `fault_in_init` makes init loop past the instruction budget (a loop the verifier accepts,
 * bounded by bpf_loop, that checked mode stops), which ends the run. Enqueue reads
 * the IPv4 protocol byte with bpf_skb_load_bytes, as a qdisc program may. */
#include <bpfq/bpf/sch_bpf.h>

const volatile __u32 limit = 100;
const volatile __u32 fault_in_init = 0;
__u32 udp_seen;

static long spin(__u32 index, void *data)
{
	return 0;
}

SEC("qdisc/init")
int check_init(struct sch_bpf_ctx *ctx)
{
	if (fault_in_init)
		bpf_loop(1 << 23, spin, NULL, 0);
	if (limit == 0)
		return -22;
	return 0;
}

SEC("qdisc/enqueue")
int check_enqueue(struct sch_bpf_ctx *ctx)
{
	__u8 proto = 0;

	if (bpf_skb_load_bytes(ctx->skb, 14 + 9, &proto, 1) == 0 && proto == 17)
		udp_seen++;
	return SCH_BPF_DROP;
}

SEC("qdisc/dequeue")
int check_dequeue(struct sch_bpf_ctx *ctx)
{
	ctx->skb = NULL;
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
