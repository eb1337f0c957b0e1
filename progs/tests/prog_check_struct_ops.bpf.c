/* prog check test: a qdisc written for Linux's struct_ops bpf qdisc (6.16): programs in
 * struct_ops/ sections and their Qdisc_ops in SEC(".struct_ops.link"), but only two of the five
 * ops Linux requires: prog check must say so. The struct is a stand-in for vmlinux.h's. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct Qdisc_ops {
	int (*enqueue)(void *skb, void *sch, void *to_free);
	void *(*dequeue)(void *sch);
	char id[16];
};

extern void bpf_kfree_skb(void *skb) __ksym;

/* Frees what it is given: enqueue owns its packet (the verifier checks that before the ops). */
SEC("struct_ops/bpf_fifo_enqueue")
int bpf_fifo_enqueue(unsigned long long *ctx)
{
	bpf_kfree_skb((void *)ctx[0]);
	return 0;
}

SEC("struct_ops/bpf_fifo_dequeue")
int bpf_fifo_dequeue(unsigned long long *ctx)
{
	return 0;
}

SEC(".struct_ops.link")
struct Qdisc_ops fifo = {
	.enqueue = (void *)bpf_fifo_enqueue,
	.dequeue = (void *)bpf_fifo_dequeue,
	.id = "bpf_fifo",
};

char LICENSE[] SEC("license") = "GPL";
