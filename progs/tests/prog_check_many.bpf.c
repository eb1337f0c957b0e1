/* prog check test: one object with many problems, every one of which `bpfq prog check` must
 * report in a single run: a misspelt qdisc section (so no qdisc/enqueue either), a helper bpfq
 * lacks, a kfunc it lacks, a write to a read-only packet field, a program type bpfq does not
 * run, a map definition without SEC(".maps"), a misspelt data section and so no license. */
#include <bpfq/bpf/sch_bpf.h>

extern void bpf_qdisc_watchdog_schedule(struct sk_buff *skb, __u64 expire, __u64 delta) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} forgotten; /* no SEC(".maps"): a zeroed global in .bss */

__u32 spare SEC(".rodat");

SEC("qdisc/enqeue")
int many_enqueue(struct sch_bpf_ctx *ctx)
{
	return SCH_BPF_DROP;
}

SEC("qdisc/dequeue")
int many_dequeue(struct sch_bpf_ctx *ctx)
{
	ctx->skb = NULL;
	if (bpf_get_current_pid_tgid() == 0)
		return SCH_BPF_DROP;
	return SCH_BPF_DEQUEUED;
}

SEC("tc")
int many_tc(struct __sk_buff *skb)
{
	skb->len = 0;
	bpf_qdisc_watchdog_schedule((struct sk_buff *)skb, 0, 0);
	return 0;
}

SEC("xdp")
int many_xdp(struct xdp_md *ctx)
{
	return 2;
}

char LICENSE[] SEC("licence") = "GPL";
