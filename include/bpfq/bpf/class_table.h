/* A classful program's table of its classes (htb, hfsc): an ARRAY map of per-class state whose
 * first field is the class id (__u32), slots 0 .. n-1 in use, and the class parameters user
 * space writes into class_NAME maps (docs/program-model.md, "Classes").
 *
 *     struct my_class { __u32 classid; ... };
 *     struct my_class *cl = class_table_slot(&classes, slot, MAX_CLASSES);
 *     cl = class_table_append(&classes, MAX_CLASSES, &nclasses, classid, sizeof(*cl));  // building
 *     __u32 slot = class_table_find(&classes, nclasses, classid);   // CLASS_TABLE_NONE if absent
 *     slot = class_table_find_own(&classes, nclasses, skb->priority, handle);  // of this qdisc
 *     __u64 rate = class_param_u64(&class_rate, classid);           // 0 if absent */
#ifndef BPFQ_BPF_CLASS_TABLE_H
#define BPFQ_BPF_CLASS_TABLE_H

#include <bpfq/bpf/sch_bpf.h>

#define CLASS_TABLE_NONE 0xffffffffu

/* The state in `slot` of a table of `size` entries (a power of two), or NULL. */
static __always_inline void *class_table_slot(void *map, __u32 slot, __u32 size)
{
	__u32 key = slot & (size - 1);

	if (slot >= size)
		return NULL;
	return bpf_map_lookup_elem(map, &key);
}

/* A zeroed state of value_size bytes in slot *n, its class id set and *n counted; NULL (and a
 * bpf_printk) when all `size` slots are taken. */
static __always_inline void *class_table_append(void *map, __u32 size, __u32 *n, __u32 classid, __u32 value_size)
{
	__u32 *state;

	if (*n >= size) {
		bpf_printk("more than %d classes: class %x ignored", size, classid);
		return NULL;
	}
	state = class_table_slot(map, *n, size);
	if (!state)
		return NULL;
	__builtin_memset(state, 0, value_size);
	*state = classid;
	(*n)++;
	return state;
}

struct class_table_search {
	__u32 classid;
	__u32 n;
	__u32 slot;
};

static long class_table_find_cb(void *map, __u32 *key, __u32 *state, struct class_table_search *s)
{
	if (*key >= s->n)
		return 1;
	if (*state != s->classid)
		return 0;
	s->slot = *key;
	return 1;
}

/* The slot of classid among the first n, or CLASS_TABLE_NONE. */
static __always_inline __u32 class_table_find(void *map, __u32 n, __u32 classid)
{
	struct class_table_search s = {.classid = classid, .n = n, .slot = CLASS_TABLE_NONE};

	bpf_for_each_map_elem(map, class_table_find_cb, &s, 0);
	return s.slot;
}

/* The slot of classid if it names a class of the qdisc `handle` (its major), else
 * CLASS_TABLE_NONE: how skb->priority, a filter's result or a default minor is looked up. */
static __always_inline __u32 class_table_find_own(void *map, __u32 n, __u32 classid, __u32 handle)
{
	if (!classid || (classid & 0xffff0000) != (handle & 0xffff0000))
		return CLASS_TABLE_NONE;
	return class_table_find(map, n, classid);
}

/* A class parameter of a class_NAME map with 4-byte (u32) or 8-byte (u64) values; 0 if the class
 * has none. */
static __always_inline __u64 class_param_u32(void *map, __u32 classid)
{
	__u32 *v = bpf_map_lookup_elem(map, &classid);

	return v ? *v : 0;
}

static __always_inline __u64 class_param_u64(void *map, __u32 classid)
{
	__u64 *v = bpf_map_lookup_elem(map, &classid);

	return v ? *v : 0;
}

#endif
