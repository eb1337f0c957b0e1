/* Runtime test: graph kfuncs given what the verifier would have refused. Each case must end
 * the run with a message or be contained (arena bytes only); none may harm bpfq. */
#include "runtime_graph.h"

struct item {
	__u64 key;
	struct bpf_list_node node;
};

struct entry {
	__u64 key;
	struct bpf_rb_node node;
};

struct counted {
	__u64 key;
	struct bpf_list_node node;
	struct bpf_refcount ref;
};

struct stash {
	struct counted __kptr *obj;
};

/* As vmlinux.h declares it; clang 14 drops the kptr tag below. */
struct sk_buff {
	__u32 len;
};

struct skb_node {
	struct sk_buff __kptr *skb;
	struct bpf_list_node node;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u64);
	__type(value, struct stash);
} stashes SEC(".maps");

private(A) struct bpf_spin_lock a_lock;
private(A) struct bpf_list_head items __contains(item, node);
private(B) struct bpf_spin_lock b_lock;
private(B) struct bpf_rb_root tree __contains(entry, node);
private(C) struct bpf_spin_lock c_lock;
private(C) struct bpf_list_head counted_list __contains(counted, node);

static bool entry_less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	return container_of(a, struct entry, node)->key < container_of(b, struct entry, node)->key;
}

/* One misuse per value of io->a; out[0] what the last call returned. */
SEC("hostile/misuse") int misuse(struct io *io)
{
	struct item *it = bpf_obj_new(struct item);
	__u64 stack[4] = {};

	if (!it)
		return 1;
	switch (io->a) {
	case 0: /* a lock is not a list head */
		io->out[0] = bpf_list_push_back((struct bpf_list_head *)&a_lock, &it->node);
		break;
	case 1: /* nor is the stack */
		io->out[0] = bpf_list_push_back((struct bpf_list_head *)stack, &it->node);
		break;
	case 2: /* an rb root is not a list head */
		io->out[0] = (__s64)bpf_list_pop_front((struct bpf_list_head *)&tree);
		break;
	case 3: /* the node at the wrong offset */
		io->out[0] = bpf_list_push_back(&items, (struct bpf_list_node *)((char *)it + 16));
		break;
	case 4: /* dropping the stack */
		bpf_obj_drop(stack);
		break;
	case 5: /* dropping twice */
		bpf_obj_drop(it);
		bpf_obj_drop(it);
		return 0;
	case 6: /* no struct bpf_refcount */
		io->out[0] = (__s64)bpf_refcount_acquire(it);
		break;
	case 7: { /* an entry into a list of items */
		struct entry *e = bpf_obj_new(struct entry);
		if (e)
			io->out[0] = bpf_list_push_back(&items, (struct bpf_list_node *)&e->node);
		break;
	}
	case 8: /* a field of an object that is not a kptr */
		io->out[0] = (__s64)bpf_kptr_xchg(&it->key, it);
		break;
	case 9: /* a type id that is no struct */
		io->out[0] = (__s64)bpf_obj_new_impl(99999, NULL);
		break;
	case 10: { /* less that is no sub-program */
		struct entry *e = bpf_obj_new(struct entry);
		if (e)
			io->out[0] = bpf_rbtree_add_impl(&tree, &e->node, (void *)0x1234, NULL, 0);
		break;
	}
	case 11: /* pushing a node the program gave away */
		bpf_spin_lock(&a_lock);
		bpf_list_push_back(&items, &it->node);
		io->out[0] = bpf_list_push_back(&items, &it->node);
		bpf_spin_unlock(&a_lock);
		return 0;
	case 12: /* a forged object pointer in the middle of the arena */
		bpf_obj_drop((char *)it + 16);
		break;
	case 13: /* an iterator the program cannot write */
		bpf_iter_num_new((struct bpf_iter_num *)io->b, 0, 10);
		break;
	case 14: /* a node of a list given as a tree node */
		io->out[0] = (__s64)bpf_rbtree_remove(&tree, (struct bpf_rb_node *)&it->node);
		break;
	}
	bpf_obj_drop(it);
	return 0;
}

/* Scribbles over a head and a node, then uses them: the bytes mean nothing to the heap.
 * out[0], out[1]: the keys popped. */
SEC("hostile/scribble") int scribble(struct io *io)
{
	struct item *x = bpf_obj_new(struct item), *y;
	struct bpf_list_node *n;

	if (!x)
		return 1;
	x->key = 1;
	__builtin_memset(&x->node, 0xab, sizeof(x->node));
	bpf_spin_lock(&a_lock);
	__builtin_memset(&items, 0xcd, sizeof(items));
	bpf_list_push_back(&items, &x->node);
	bpf_spin_unlock(&a_lock);
	y = bpf_obj_new(struct item);
	if (!y)
		return 2;
	y->key = 2;
	bpf_spin_lock(&a_lock);
	bpf_list_push_back(&items, &y->node);
	__builtin_memset(&items, 0, sizeof(items));
	__builtin_memset(&x->node, 0, sizeof(x->node));
	n = bpf_list_pop_front(&items);
	bpf_spin_unlock(&a_lock);
	if (!n)
		return 3;
	io->out[0] = container_of(n, struct item, node)->key;
	bpf_obj_drop(container_of(n, struct item, node));
	bpf_spin_lock(&a_lock);
	n = bpf_list_pop_front(&items);
	bpf_spin_unlock(&a_lock);
	if (!n)
		return 4;
	io->out[1] = container_of(n, struct item, node)->key;
	bpf_obj_drop(container_of(n, struct item, node));
	return 0;
}

/* Writes into an object after dropping it: arena bytes, no fault. out[0] what it reads back. */
SEC("hostile/after_free") int after_free(struct io *io)
{
	struct item *it = bpf_obj_new(struct item);

	if (!it)
		return 1;
	bpf_obj_drop(it);
	it->key = 42;
	__builtin_memset(&it->node, 0xff, sizeof(it->node));
	io->out[0] = it->key;
	return 0;
}

/* Stashes a counted object in stashes[1], overwrites the field (c = 0: with b; 1: with a
 * pointer into the middle of the object; 2: with the object's own pointer) and exchanges it out:
 * out[0] what came out. */
SEC("hostile/forge_stash") int forge_stash(struct io *io)
{
	struct stash zero = {};
	__u64 key = 1;
	struct counted *c = bpf_obj_new(struct counted);
	__u64 addr = (__u64)c;

	if (!c)
		return 1;
	bpf_map_update_elem(&stashes, &key, &zero, BPF_ANY);
	struct stash *s = bpf_map_lookup_elem(&stashes, &key);
	if (!s) {
		bpf_obj_drop(c);
		return 2;
	}
	c = bpf_kptr_xchg(&s->obj, c);
	if (c)
		bpf_obj_drop(c);
	s->obj = (struct counted *)(io->c == 0 ? io->b : io->c == 1 ? addr + 16 : addr);
	c = bpf_kptr_xchg(&s->obj, NULL);
	io->out[0] = (__s64)c;
	if (io->c == 2 && c)
		bpf_obj_drop(c);
	return 0;
}

/* Refcounted object in a list and in a map, then the program scribbles the map field with the
 * pointer of another object and the map element is deleted. */
SEC("hostile/forge_release") int forge_release(struct io *io)
{
	struct stash zero = {};
	__u64 key = 2;
	struct counted *c = bpf_obj_new(struct counted), *copy;
	struct item *other = bpf_obj_new(struct item);

	if (!c || !other) {
		if (c)
			bpf_obj_drop(c);
		if (other)
			bpf_obj_drop(other);
		return 1;
	}
	bpf_map_update_elem(&stashes, &key, &zero, BPF_ANY);
	struct stash *s = bpf_map_lookup_elem(&stashes, &key);
	if (!s) {
		bpf_obj_drop(c);
		bpf_obj_drop(other);
		return 2;
	}
	copy = bpf_refcount_acquire(c);
	bpf_spin_lock(&c_lock);
	bpf_list_push_back(&counted_list, &copy->node);
	bpf_spin_unlock(&c_lock);
	c = bpf_kptr_xchg(&s->obj, c);
	if (c)
		bpf_obj_drop(c);
	s->obj = (struct counted *)other; /* the map will release this instead */
	bpf_map_delete_elem(&stashes, &key);
	bpf_spin_lock(&a_lock);
	bpf_list_push_back(&items, &other->node);
	bpf_spin_unlock(&a_lock);
	return 0;
}

SEC("graph/skb_node") int skb_node(struct io *io)
{
	struct skb_node *n = bpf_obj_new(struct skb_node);

	if (n)
		bpf_obj_drop(n);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
