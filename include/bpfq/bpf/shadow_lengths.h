/* A shadow FIFO of packet lengths per class: the lengths of the packets a classful program
 * handed each class's child qdisc, in order, so that it knows the length of the packet at the
 * child's head (Linux's drr, ets, htb and hfsc peek the child; a program cannot). Each class
 * keeps its own counters [head, tail) in the program's state; the lengths live in one HASH map
 * keyed by (class, sequence number), the class being whatever the program numbers its classes
 * by (class id, band, slot).
 *
 *     BPFQ_SHADOW_LENGTHS(lengths, 65536);
 *     ...
 *     if (shadow_len_put(&lengths, id, cl->tail, ctx->skb->wire_len, BPF_NOEXIST))  // enqueue
 *         return SCH_BPF_DROP;
 *     cl->tail++;
 *     ...
 *     __u32 *len = shadow_len_at(&lengths, id, cl->head);                           // dequeue
 *     shadow_len_forget(&lengths, id, cl->head++); */
#ifndef BPFQ_BPF_SHADOW_LENGTHS_H
#define BPFQ_BPF_SHADOW_LENGTHS_H

#include <bpfq/bpf/sch_bpf.h>

struct shadow_len_key {
	__u32 id;
	__u32 pad;
	__u64 seq;
};

/* The map: (class, sequence number) -> wire_len of that packet. */
#define BPFQ_SHADOW_LENGTHS(name, max_packets)                 \
	struct {                                               \
		__uint(type, BPF_MAP_TYPE_HASH);               \
		__uint(max_entries, max_packets);              \
		__type(key, struct shadow_len_key);            \
		__type(value, __u32);                          \
	} name SEC(".maps")

/* Records len as packet seq of class id (flags: BPF_NOEXIST, BPF_ANY); 0, or the map's error. */
static __always_inline long shadow_len_put(void *map, __u32 id, __u64 seq, __u32 len, __u64 flags)
{
	struct shadow_len_key key = {.id = id, .seq = seq};

	return bpf_map_update_elem(map, &key, &len, flags);
}

/* The length of packet seq of class id, or NULL. */
static __always_inline __u32 *shadow_len_at(void *map, __u32 id, __u64 seq)
{
	struct shadow_len_key key = {.id = id, .seq = seq};

	return bpf_map_lookup_elem(map, &key);
}

/* Forgets packet seq of class id (sent, or dropped by the child). */
static __always_inline void shadow_len_forget(void *map, __u32 id, __u64 seq)
{
	struct shadow_len_key key = {.id = id, .seq = seq};

	bpf_map_delete_elem(map, &key);
}

#endif
