/* Shared by the RFC v7 test programs: what a program written for sch_bpf RFC v7 (Amery Hung,
 * Jan 2024) includes and declares, as that series' samples do. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpfq/bpf/bpf_qdisc_ops.h> /* the graph kfuncs and their macros */

/* RFC v7's kfuncs (net/sched/sch_bpf.c). */
struct sk_buff *bpf_skb_acquire(struct sk_buff *p) __ksym;
void bpf_skb_release(struct sk_buff *p) __ksym;
void bpf_qdisc_set_skb_dequeue(struct sk_buff *p) __ksym;

char _license[] SEC("license") = "GPL";
