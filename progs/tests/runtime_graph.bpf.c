/* Runtime test: graph objects (bpf_obj_new, lists, rbtrees, refcounts, object kptrs in map
 * values), bpf_iter_num and bpf_jiffies64, as Linux 6.16's struct_ops qdiscs use them. Sections
 * have no program type: they run unverified, checked. */
#include "runtime_graph.h"

struct item {
	__u64 key;
	struct bpf_list_node node;
};

struct entry {
	__u64 key;
	__u64 seq;
	struct bpf_rb_node node;
};

struct sk_buff;

struct pkt {
	__u64 tstamp;
	struct sk_buff __kptr *skb;
	struct bpf_rb_node node;
};

struct flow {
	__u64 id;
	__s64 credit;
	struct bpf_list_node list_node;
	struct bpf_rb_node rb_node;
	struct bpf_rb_root queue __contains(pkt, node);
	struct bpf_spin_lock lock;
	struct bpf_refcount ref;
};

struct stash {
	struct flow __kptr *flow;
};

struct big {
	__u64 data[500];
	struct bpf_list_node node;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, struct stash);
} flows SEC(".maps");

private(A) struct bpf_spin_lock a_lock;
private(A) struct bpf_list_head items __contains(item, node);
private(B) struct bpf_spin_lock b_lock;
private(B) struct bpf_rb_root tree __contains(entry, node);
private(C) struct bpf_spin_lock c_lock;
private(C) struct bpf_list_head active __contains(flow, list_node);
private(D) struct bpf_spin_lock d_lock;
private(D) struct bpf_list_head bigs __contains(big, node);

__u64 results[64];
__u32 n_results;

static void record(__u64 v)
{
	results[n_results & 63] = v;
	n_results++;
}

/* ---- lists ---- */

static int push_one(__u32 i, struct io *io)
{
	struct item *it = bpf_obj_new(struct item);

	if (!it) {
		io->out[1]++;
		return 1;
	}
	it->key = io->b + i;
	bpf_spin_lock(&a_lock);
	if (io->c)
		bpf_list_push_front(&items, &it->node);
	else
		bpf_list_push_back(&items, &it->node);
	bpf_spin_unlock(&a_lock);
	io->out[0]++;
	return 0;
}

/* Pushes a items with keys b, b+1, … at the back (c = 1: at the front). */
SEC("graph/list_push") int list_push(struct io *io)
{
	bpf_loop(io->a, push_one, io, 0);
	return 0;
}

static int pop_one(__u32 i, struct io *io)
{
	struct bpf_list_node *n;

	bpf_spin_lock(&a_lock);
	n = io->c ? bpf_list_pop_back(&items) : bpf_list_pop_front(&items);
	bpf_spin_unlock(&a_lock);
	if (!n)
		return 1;
	struct item *it = container_of(n, struct item, node);
	record(it->key);
	io->out[0]++;
	bpf_obj_drop(it);
	return 0;
}

/* Pops up to a items from the front (c = 1: the back), recording their keys. */
SEC("graph/list_pop") int list_pop(struct io *io)
{
	bpf_loop(io->a, pop_one, io, 0);
	return 0;
}

SEC("graph/list_peek") int list_peek(struct io *io)
{
	struct bpf_list_node *f, *b;

	bpf_spin_lock(&a_lock);
	f = bpf_list_front(&items);
	b = bpf_list_back(&items);
	io->out[0] = f ? container_of(f, struct item, node)->key : -1;
	io->out[1] = b ? container_of(b, struct item, node)->key : -1;
	io->out[2] = bpf_list_empty(&items);
	bpf_spin_unlock(&a_lock);
	return 0;
}

/* ---- rbtree ---- */

static bool entry_less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	return container_of(a, struct entry, node)->key < container_of(b, struct entry, node)->key;
}

static bool random_less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	return bpf_get_prandom_u32() & 1;
}

static bool allocating_less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	struct item *it = bpf_obj_new(struct item);

	if (it)
		bpf_obj_drop(it);
	return 0;
}

/* Adds an entry {key a, seq b}; c picks the less: 0 by key, 1 random, 2 one that allocates. */
SEC("graph/tree_add") int tree_add(struct io *io)
{
	struct entry *e = bpf_obj_new(struct entry);

	if (!e)
		return 1;
	e->key = io->a;
	e->seq = io->b;
	bpf_spin_lock(&b_lock);
	if (io->c == 1)
		io->out[0] = bpf_rbtree_add(&tree, &e->node, random_less);
	else if (io->c == 2)
		io->out[0] = bpf_rbtree_add(&tree, &e->node, allocating_less);
	else
		io->out[0] = bpf_rbtree_add(&tree, &e->node, entry_less);
	bpf_spin_unlock(&b_lock);
	return 0;
}

static int drain_one(__u32 i, struct io *io)
{
	struct bpf_rb_node *n;

	bpf_spin_lock(&b_lock);
	n = bpf_rbtree_first(&tree);
	if (n)
		n = bpf_rbtree_remove(&tree, n);
	bpf_spin_unlock(&b_lock);
	if (!n)
		return 1;
	struct entry *e = container_of(n, struct entry, node);
	record(e->key * 1000 + e->seq);
	io->out[0]++;
	bpf_obj_drop(e);
	return 0;
}

/* Removes every entry in order, recording key * 1000 + seq. */
SEC("graph/tree_drain") int tree_drain(struct io *io)
{
	bpf_loop(1000, drain_one, io, 0);
	return 0;
}

static __s64 key_of(struct bpf_rb_node *n)
{
	return n ? (__s64)container_of(n, struct entry, node)->key : -1;
}

/* The root's key and its children's (-1 for none). */
SEC("graph/tree_shape") int tree_shape(struct io *io)
{
	struct bpf_rb_node *r;

	bpf_spin_lock(&b_lock);
	r = bpf_rbtree_root(&tree);
	io->out[0] = key_of(r);
	if (r) {
		io->out[1] = key_of(bpf_rbtree_left(&tree, r));
		io->out[2] = key_of(bpf_rbtree_right(&tree, r));
	}
	bpf_spin_unlock(&b_lock);
	return 0;
}

/* ---- refcounted flows stashed in a map ---- */

static bool pkt_less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	return container_of(a, struct pkt, node)->tstamp < container_of(b, struct pkt, node)->tstamp;
}

static void put_back(struct stash *s, struct flow *f)
{
	struct flow *old = bpf_kptr_xchg(&s->flow, f);

	if (old)
		bpf_obj_drop(old);
}

/* A flow with id a stashed in flows[a]. */
SEC("graph/flow_new") int flow_new(struct io *io)
{
	struct stash zero = {};
	__u64 key = io->a;
	struct flow *f = bpf_obj_new(struct flow);

	if (!f)
		return 1;
	f->id = io->a;
	bpf_map_update_elem(&flows, &key, &zero, BPF_NOEXIST);
	struct stash *s = bpf_map_lookup_elem(&flows, &key);
	if (!s) {
		bpf_obj_drop(f);
		return 2;
	}
	put_back(s, f);
	return 0;
}

/* Takes flows[a] out, puts one more reference of it on the active list (b = 1: two), puts it back. */
SEC("graph/flow_activate") int flow_activate(struct io *io)
{
	__u64 key = io->a;
	struct stash *s = bpf_map_lookup_elem(&flows, &key);
	struct flow *f, *copy;

	if (!s)
		return 1;
	f = bpf_kptr_xchg(&s->flow, NULL);
	if (!f)
		return 2;
	copy = bpf_refcount_acquire(f);
	bpf_spin_lock(&c_lock);
	io->out[0] = bpf_list_push_back(&active, &copy->list_node);
	bpf_spin_unlock(&c_lock);
	if (io->b) {
		copy = bpf_refcount_acquire(f);
		bpf_spin_lock(&c_lock);
		io->out[1] = bpf_list_push_back(&active, &copy->list_node);
		bpf_spin_unlock(&c_lock);
	}
	put_back(s, f);
	return 0;
}

/* Pops the first active flow: out[0] its id (-1: none); drops that reference. */
SEC("graph/active_pop") int active_pop(struct io *io)
{
	struct bpf_list_node *n;

	bpf_spin_lock(&c_lock);
	n = bpf_list_pop_front(&active);
	bpf_spin_unlock(&c_lock);
	io->out[0] = -1;
	if (!n)
		return 0;
	struct flow *f = container_of(n, struct flow, list_node);
	io->out[0] = f->id;
	bpf_obj_drop(f);
	return 0;
}

/* Queues a packet node {tstamp b, skb c} on flows[a]'s tree. */
SEC("graph/flow_enqueue") int flow_enqueue(struct io *io)
{
	__u64 key = io->a;
	struct stash *s = bpf_map_lookup_elem(&flows, &key);
	struct flow *f;
	struct pkt *p;

	if (!s)
		return 1;
	f = bpf_kptr_xchg(&s->flow, NULL);
	if (!f)
		return 2;
	p = bpf_obj_new(struct pkt);
	if (!p) {
		put_back(s, f);
		return 3;
	}
	p->tstamp = io->b;
	if (io->c)
		io->out[1] = (__s64)bpf_kptr_xchg(&p->skb, (struct sk_buff *)io->c);
	bpf_spin_lock(&f->lock);
	io->out[0] = bpf_rbtree_add(&f->queue, &p->node, pkt_less);
	bpf_spin_unlock(&f->lock);
	f->credit++;
	put_back(s, f);
	return 0;
}

/* Takes flows[a]'s earliest packet node: out[0] its tstamp (-1: none), out[1] its skb. */
SEC("graph/flow_dequeue") int flow_dequeue(struct io *io)
{
	__u64 key = io->a;
	struct stash *s = bpf_map_lookup_elem(&flows, &key);
	struct bpf_rb_node *n;
	struct flow *f;

	if (!s)
		return 1;
	f = bpf_kptr_xchg(&s->flow, NULL);
	if (!f)
		return 2;
	bpf_spin_lock(&f->lock);
	n = bpf_rbtree_first(&f->queue);
	if (n)
		n = bpf_rbtree_remove(&f->queue, n);
	bpf_spin_unlock(&f->lock);
	io->out[0] = -1;
	if (n) {
		struct pkt *p = container_of(n, struct pkt, node);
		io->out[0] = p->tstamp;
		io->out[1] = (__s64)bpf_kptr_xchg(&p->skb, NULL);
		bpf_obj_drop(p);
	}
	put_back(s, f);
	return 0;
}

/* Reads the stash field as FQ's garbage collector does: out[0] the pointer, out[1] the flow's id. */
SEC("graph/flow_peek") int flow_peek(struct io *io)
{
	__u64 key = io->a;
	struct stash *s = bpf_map_lookup_elem(&flows, &key);

	if (!s)
		return 1;
	io->out[0] = (__s64)s->flow;
	io->out[1] = s->flow ? (__s64)s->flow->id : -1;
	return 0;
}

static long delete_flow(void *map, __u64 *key, struct stash *s, struct io *io)
{
	bpf_map_delete_elem(map, key);
	io->out[0]++;
	return 0;
}

/* Deletes every flows element from inside bpf_for_each_map_elem (FQ's reset). */
SEC("graph/flows_clear") int flows_clear(struct io *io)
{
	bpf_for_each_map_elem(&flows, delete_flow, io, 0);
	return 0;
}

/* Takes a items and flows[b] (b != 0) and gives nothing back: leaks. */
SEC("graph/leak") int leak(struct io *io)
{
	for (int i = 0; i < 16 && i < io->a; i++)
		if (!bpf_obj_new(struct item))
			return 1;
	if (io->b) {
		__u64 key = io->b;
		struct stash *s = bpf_map_lookup_elem(&flows, &key);
		if (s)
			bpf_kptr_xchg(&s->flow, NULL);
	}
	return 0;
}

/* ---- the arena's end ---- */

static int big_one(__u32 i, struct io *io)
{
	struct big *b = bpf_obj_new(struct big);

	if (!b) {
		io->out[1]++;
		return 1;
	}
	b->data[0] = i;
	bpf_spin_lock(&d_lock);
	bpf_list_push_back(&bigs, &b->node);
	bpf_spin_unlock(&d_lock);
	io->out[0]++;
	return 0;
}

SEC("graph/big_fill") int big_fill(struct io *io)
{
	bpf_loop(io->a, big_one, io, 0);
	return 0;
}

static int big_drop(__u32 i, struct io *io)
{
	struct bpf_list_node *n;

	bpf_spin_lock(&d_lock);
	n = bpf_list_pop_front(&bigs);
	bpf_spin_unlock(&d_lock);
	if (!n)
		return 1;
	bpf_obj_drop(container_of(n, struct big, node));
	io->out[0]++;
	return 0;
}

SEC("graph/big_drain") int big_drain(struct io *io)
{
	bpf_loop(1 << 20, big_drop, io, 0);
	return 0;
}

/* ---- iterators and time ---- */

/* Sums a..b-1 with bpf_iter_num: out[0] new's result, out[1] the sum, out[2] the steps,
 * out[3] 1 if next stays NULL after the end. */
SEC("graph/iter") int iter(struct io *io)
{
	struct bpf_iter_num it;
	int *v;

	io->out[0] = bpf_iter_num_new(&it, (int)io->a, (int)io->b);
	while ((v = bpf_iter_num_next(&it))) {
		io->out[1] += *v;
		io->out[2]++;
	}
	io->out[3] = bpf_iter_num_next(&it) == NULL;
	bpf_iter_num_destroy(&it);
	return 0;
}

SEC("graph/jiffies") int jiffies(struct io *io)
{
	io->out[0] = bpf_jiffies64();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
