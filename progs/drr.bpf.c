/* drr (Linux net/sched/sch_drr.c): Deficit Round Robin over classes, each with its own child
 * qdisc (set up by user space) and quantum.
 *
 * Classes: user space lists them in the map `class_quantum` (classid -> quantum in bytes, as
 * `tc class add ... classid 1:10 drr quantum Q`; 0 takes the `quantum` parameter, Linux's
 * default psched_mtu). Classification, as drr_classify(): skb->priority naming a class of this
 * qdisc; else the qdisc's filters (bpf_skb_tc_classify) naming a class; else the packet is
 * dropped.
 *
 * Scheduling, as drr_dequeue(): the first class of the active list sends its head packet if the
 * packet fits its deficit (deficit -= length; a class left empty leaves the list); otherwise it
 * earns another quantum and moves to the tail. A class joins the tail of the list with a full
 * quantum when it becomes backlogged.
 *
 * The child's head length, which Linux peeks, is known here from a shadow FIFO of the lengths of
 * the packets handed to each class (docs/qdiscs/drr.md: where this differs from Linux).
 * Parameter: quantum (bytes, default 1514 = psched_mtu of a 1500-byte Ethernet device). */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/shadow_lengths.h>

#define MAX_CLASSES 1024
#define MAX_PACKETS 65536
#define NO_CLASS 0 /* classid 0 is never a class: the list's "null" */

const volatile bpfq_size_bytes quantum = 1514;

/* classid -> quantum (bytes); user space fills it. BPF_F_RDONLY_PROG: configuration, which the
 * program only reads and a reset keeps. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__uint(max_entries, MAX_CLASSES);
	__type(key, __u32);
	__type(value, __u32);
} class_quantum SEC(".maps");

struct class_state {
	__u32 deficit;
	__u32 next;   /* the next class of the active list, or NO_CLASS */
	__u32 active; /* on the active list */
	__u32 pad;
	__u64 head;   /* shadow FIFO of packet lengths: [head, tail) */
	__u64 tail;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct class_state);
} classes SEC(".maps");

BPFQ_SHADOW_LENGTHS(lengths, MAX_PACKETS); /* the classes' shadow FIFOs, by class id */

/* The active list: classes with packets, in round-robin order. */
__u32 active_head;
__u32 active_tail;

static __u32 quantum_of(__u32 classid)
{
	__u32 *q = bpf_map_lookup_elem(&class_quantum, &classid);

	if (!q)
		return 0;
	return *q ? *q : quantum;
}

static __u32 classify(struct __sk_buff *skb, __u32 handle)
{
	__u32 classid = skb->priority;

	if ((classid & 0xffff0000) == (handle & 0xffff0000) && quantum_of(classid))
		return classid;
	classid = bpf_skb_tc_classify(skb, skb->ifindex, handle);
	if (classid && quantum_of(classid))
		return classid;
	return NO_CLASS;
}

static struct class_state *state_of(__u32 classid)
{
	struct class_state fresh = {};
	struct class_state *cl = bpf_map_lookup_elem(&classes, &classid);

	if (cl)
		return cl;
	bpf_map_update_elem(&classes, &classid, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&classes, &classid);
}

static void append_active(__u32 classid, struct class_state *cl)
{
	cl->next = NO_CLASS;
	cl->active = 1;
	if (active_tail != NO_CLASS) {
		struct class_state *last = bpf_map_lookup_elem(&classes, &active_tail);

		if (last)
			last->next = classid;
	} else {
		active_head = classid;
	}
	active_tail = classid;
}

static void pop_active_head(struct class_state *cl)
{
	active_head = cl->next;
	if (active_head == NO_CLASS)
		active_tail = NO_CLASS;
	cl->next = NO_CLASS;
	cl->active = 0;
}

/* Linux refuses a zero quantum (-EINVAL); it would also make dequeue spin. */
SEC("qdisc/init")
int drr_init(struct sch_bpf_ctx *ctx)
{
	return quantum ? 0 : -22;
}

SEC("qdisc/enqueue")
int drr_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 classid = classify(ctx->skb, ctx->classid);
	struct class_state *cl;
	__u32 len = ctx->skb->wire_len;

	if (classid == NO_CLASS)
		return SCH_BPF_DROP;
	cl = state_of(classid);
	if (!cl)
		return SCH_BPF_DROP;
	if (shadow_len_put(&lengths, classid, cl->tail, len, BPF_NOEXIST))
		return SCH_BPF_DROP;
	cl->tail++;
	if (!cl->active) {
		cl->deficit = quantum_of(classid);
		append_active(classid, cl);
	}
	ctx->classid = classid;
	return SCH_BPF_PASS;
}

struct pick {
	__u32 classid; /* the class to send from, or NO_CLASS */
};

/* One turn of drr_dequeue's loop on the head of the active list. */
static long drr_turn(__u64 index, struct pick *pick)
{
	__u32 classid = active_head;
	struct class_state *cl;
	__u32 *len;

	if (classid == NO_CLASS)
		return 1;
	cl = bpf_map_lookup_elem(&classes, &classid);
	if (!cl)
		return 1;
	len = shadow_len_at(&lengths, classid, cl->head);
	if (!len) { /* inconsistent: forget the class rather than spin */
		pop_active_head(cl);
		return 0;
	}
	if (*len <= cl->deficit) {
		cl->deficit -= *len;
		shadow_len_forget(&lengths, classid, cl->head++);
		if (cl->head == cl->tail)
			pop_active_head(cl);
		pick->classid = classid;
		return 1;
	}
	cl->deficit += quantum_of(classid) ?: quantum; /* a class deleted meanwhile keeps a quantum */
	if (cl->next != NO_CLASS) { /* move to the tail */
		pop_active_head(cl);
		append_active(classid, cl);
	}
	return 0;
}

SEC("qdisc/dequeue")
int drr_dequeue(struct sch_bpf_ctx *ctx)
{
	struct pick pick = {NO_CLASS};

	ctx->skb = NULL;
	/* Bounded: every turn that sends nothing adds a quantum (>= 1 byte) to a class. */
	bpf_loop(1 << 23, drr_turn, &pick, 0);
	if (pick.classid == NO_CLASS)
		return SCH_BPF_DEQUEUED;
	ctx->classid = pick.classid;
	return SCH_BPF_PASS;
}

char LICENSE[] SEC("license") = "GPL";
