/* What a bpfq qdisc program includes: the seed's (sch_bpf RFC v6) program context, verdicts,
 * packet-reference kfuncs and helpers, plus bpfq's map types. Include it after nothing else:
 *
 *     #include <bpfq/bpf/sch_bpf.h>
 *
 * Programs may also include libbpf's <bpf/bpf_helpers.h> themselves (this header does).
 *
 * Packets: the kernel has two views of a packet, `struct sk_buff` (kfunc arguments, references
 * stored in maps) and `struct __sk_buff` (the uapi view programs read). In bpfq they are one
 * object, so a `struct sk_buff *` may be cast to `struct __sk_buff *` to read its fields, and
 * `ctx->skb` may be passed to the kfuncs (see skb_ref() below). */
#ifndef BPFQ_BPF_SCH_BPF_H
#define BPFQ_BPF_SCH_BPF_H

#include <linux/bpf.h>
#include <linux/pkt_sched.h>
#include <bpf/bpf_helpers.h>

#include <bpfq/bpf/map_types.h>

/* ---- program context and verdicts (seed RFC v6; BYPASS/STOLEN from v7) ---- */

struct sch_bpf_ctx {
	struct __sk_buff *skb; /* enqueue: the packet (borrowed); dequeue: set it to the packet sent */
	__u32 classid;         /* in: the qdisc's handle; out with PASS: the child class */
	__u64 delay;           /* out with THROTTLE: nanoseconds until the next dequeue attempt */
};

enum {
	SCH_BPF_QUEUED,
	SCH_BPF_DEQUEUED = SCH_BPF_QUEUED,
	SCH_BPF_DROP,
	SCH_BPF_CN,
	SCH_BPF_THROTTLE,
	SCH_BPF_PASS,
	SCH_BPF_BYPASS,
	SCH_BPF_STOLEN,
};

/* ---- parameters ----
 * A program's parameters are its `const volatile` globals, set from tc lines as `NAME VALUE`.
 * Declared with one of these types, a parameter takes values in its unit and bpfq refuses any
 * other (`limit 10gbit`); a bare number is always the raw value. `show` prints them in unit.
 *
 *     const volatile bpfq_count limit = 1000;
 *     const volatile bpfq_time_ns target = 5000000;   // target 5ms */
typedef __u64 bpfq_time_ns;     /* time in ns: 5ms, 100us, 1s */
typedef __u64 bpfq_rate_Bps;    /* rate in bytes per second: 10mbit, 1gbit */
typedef __u32 bpfq_size_bytes;  /* a size in bytes: 1514, 64kb, 1mb */
typedef __u32 bpfq_count;       /* a plain number: packets, flows, a flag */
typedef __u32 bpfq_probability; /* a probability: 1%, 0.5% (100% = 0xffffffff) */

/* ---- packet references ---- */

#ifndef __kptr_ref
#define __kptr_ref __attribute__((btf_type_tag("kptr_ref")))
#endif
#ifndef __kptr
#define __kptr __attribute__((btf_type_tag("kptr")))
#endif

struct sk_buff;

/* Takes a new reference on a packet (seed: skb_get). */
extern struct sk_buff *bpf_skb_acquire(struct sk_buff *p) __ksym;
/* Takes a new reference on the packet stored in a map value's kptr field; NULL if empty. */
extern struct sk_buff *bpf_skb_kptr_get(struct sk_buff **pp) __ksym;
/* Drops a reference (seed: consume_skb). Dropping the last reference of a queued packet
 * counts it as dropped by the program. */
extern void bpf_skb_release(struct sk_buff *p) __ksym;
/* The flow hash from bpfq's flow dissector (5-tuple; seeded by the qdisc's perturbation). */
extern __u32 bpf_skb_get_hash(struct sk_buff *p) __ksym;

/* The simple packet queue of the seed's earlier versions, on a PIFO map of packet references
 * that only these kfuncs touch (declare it with BPFQ_SKB_QUEUE): push takes its own reference and queues the packet
 * at `rank` (FIFO among equal ranks); pop returns the lowest-ranked packet with its reference,
 * or NULL when empty. */
extern int bpf_skb_queue_push(void *map, struct sk_buff *p, __u64 rank) __ksym;
extern struct sk_buff *bpf_skb_queue_pop(void *map) __ksym;
/* Packets queued in such a map. */
extern __u32 bpf_skb_queue_len(void *map) __ksym;

#define BPFQ_SKB_QUEUE(name, capacity, rank_range)            \
	struct {                                               \
		__uint(type, BPF_MAP_TYPE_PIFO);               \
		__uint(max_entries, capacity);                 \
		__uint(map_extra, rank_range);                 \
		__type(key, __u32);                            \
		__type(value, __u64); /* the engine's reference */ \
	} name SEC(".maps")

/* ctx->skb as a packet reference argument, and a reference back as ctx->skb. */
static __always_inline struct sk_buff *skb_ref(struct __sk_buff *skb)
{
	return (struct sk_buff *)skb;
}
static __always_inline struct __sk_buff *skb_view(struct sk_buff *skb)
{
	return (struct __sk_buff *)skb;
}

/* ---- classes ---- */

/* Packets queued in the child qdisc of class `classid` of this qdisc (0 if there is no such
 * class): lets a classful program PASS a dequeue only to a child that has something, as Linux's
 * prio asks each band. A bpfq kfunc; the seed's programs kept their own counts. */
extern __u32 bpf_qdisc_class_qlen(__u32 classid) __ksym;

/* ---- classification (seed patch 5/5) ---- */

/* Runs the filters attached to qdisc or class `handle` of device `ifindex` on the packet and
 * returns the class id of the last match, or 0. Upstream has no id for this helper; bpfq gives
 * it BPFQ_FUNC_skb_tc_classify. */
#define BPFQ_FUNC_skb_tc_classify 1000
static long (*bpf_skb_tc_classify)(struct __sk_buff *skb, int ifindex, __u32 handle) =
	(void *)BPFQ_FUNC_skb_tc_classify;

#endif
