/* For qdiscs written against Linux 6.16's struct_ops bpf qdisc (`struct Qdisc_ops` filled by a BPF
 * program, net/sched/bpf_qdisc.c): the declarations such a program needs beyond vmlinux.h and
 * libbpf's headers. bpfq's own header, written from the documented API (docs/qdiscs/struct_ops.md):
 * the BPF graph kfuncs (objects, lists, rbtrees) with their convenience macros, open-coded loops
 * (bpf_for), the qdisc kfuncs and the qdisc constants and cb accessors.
 *
 * Include it last:
 *
 *     #include "vmlinux.h"            // this host's (bpftool btf dump … format c) or bpfq's own
 *     #include <bpf/bpf_helpers.h>
 *     #include <bpf/bpf_tracing.h>    // BPF_PROG
 *     #include <bpf/bpf_core_read.h>  // bpf_core_type_id_local, used by bpf_obj_new
 *     #include <bpfq/bpf/bpf_qdisc_ops.h>
 *
 * Everything kernel-side (struct sk_buff, struct Qdisc, struct bpf_list_head, …) comes from
 * vmlinux.h, whose records are CO-RE relocated (preserve_access_index), so one object runs on any
 * kernel (or bpfq) whose BTF has the same type and field names.
 *
 * Not for bpfq's seed-API programs (those include <bpfq/bpf/sch_bpf.h>, which uses the uapi
 * headers instead of vmlinux.h and cannot be combined with this one). */
#ifndef BPFQ_BPF_BPF_QDISC_OPS_H
#define BPFQ_BPF_BPF_QDISC_OPS_H

#ifndef NULL
#define NULL ((void *)0)
#endif

/* ---- annotations ---- */

/* A field holding a referenced pointer (struct sk_buff, or an object from bpf_obj_new). */
#ifndef __kptr
#define __kptr __attribute__((btf_type_tag("kptr")))
#endif

/* A bpf_list_head / bpf_rb_root holding `type` objects linked through their member `member`. */
#ifndef __contains
#define __contains(type, member) __attribute__((btf_decl_tag("contains:" #type ":" #member)))
#endif

/* Puts a global into its own data section (one ARRAY map per section). A bpf_list_head or
 * bpf_rb_root must share its section with the bpf_spin_lock that guards it, and a section may
 * hold only one lock: one letter per lock. */
#ifndef private
#define private(name) SEC(".data." #name) __hidden __attribute__((aligned(8)))
#endif

#ifndef __hidden
#define __hidden __attribute__((visibility("hidden")))
#endif

#ifndef offsetof
#define offsetof(type, member) ((unsigned long)&((type *)0)->member)
#endif

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((void *)(ptr) - offsetof(type, member)))
#endif

/* ---- BPF graph kfuncs (kernel/bpf/helpers.c) ----
 * The `meta` and `off` arguments are placeholders: pass NULL and 0 (the macros below do), the
 * verifier (Linux's, or bpfq's loader) fills them in from the object's BTF and the __contains tag. */

/* A new object of the local type whose BTF id is `local_type_id`; NULL if out of memory. Only its
 * special fields (kptrs, list/rb nodes and roots, locks, refcount) start zeroed. */
extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
/* Frees an object we own (or drops our reference to a refcounted one), with what it holds. */
extern void bpf_obj_drop_impl(void *obj, void *meta) __ksym;
/* A second owning reference to a refcounted object (one with a struct bpf_refcount). */
extern void *bpf_refcount_acquire_impl(void *obj, void *meta) __ksym;

/* Link an owned node at the head / tail of a list (lock held); the reference moves to the list.
 * 0, or -EINVAL (and the object is dropped) if the node is already in a list. */
extern int bpf_list_push_front_impl(struct bpf_list_head *head, struct bpf_list_node *node,
				    void *meta, __u64 off) __ksym;
extern int bpf_list_push_back_impl(struct bpf_list_head *head, struct bpf_list_node *node,
				   void *meta, __u64 off) __ksym;
/* Unlink the first / last node (lock held): an owning reference, or NULL when empty. */
extern struct bpf_list_node *bpf_list_pop_front(struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_pop_back(struct bpf_list_head *head) __ksym;

/* Insert an owned node (lock held): `less(new, existing)` true goes left, so equal keys keep
 * insertion order. 0, or -EINVAL (object dropped) if the node is already in a tree. */
extern int bpf_rbtree_add_impl(struct bpf_rb_root *root, struct bpf_rb_node *node,
			       bool (less)(struct bpf_rb_node *a, const struct bpf_rb_node *b),
			       void *meta, __u64 off) __ksym;
/* The leftmost node (lock held), not removed: valid until the unlock. NULL when empty. */
extern struct bpf_rb_node *bpf_rbtree_first(struct bpf_rb_root *root) __ksym;
/* Unlink a node of this tree (lock held): an owning reference, or NULL if not in the tree. */
extern struct bpf_rb_node *bpf_rbtree_remove(struct bpf_rb_root *root, struct bpf_rb_node *node) __ksym;

#define bpf_obj_new(type) ((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), NULL))
#define bpf_obj_drop(obj) bpf_obj_drop_impl(obj, NULL)
#define bpf_refcount_acquire(obj) ((typeof(obj))bpf_refcount_acquire_impl(obj, NULL))
#define bpf_list_push_front(head, node) bpf_list_push_front_impl(head, node, NULL, 0)
#define bpf_list_push_back(head, node) bpf_list_push_back_impl(head, node, NULL, 0)
#define bpf_rbtree_add(root, node, less) bpf_rbtree_add_impl(root, node, less, NULL, 0)

/* ---- bounded loops: bpf_for(i, start, end) runs i over [start, end) ----
 * On the numeric iterator kfuncs (kernel/bpf/bpf_iter.c; struct bpf_iter_num comes from
 * vmlinux.h). Newer libbpf bpf_helpers.h defines bpf_for and declares these itself; libbpf 1.1
 * does not. The bounds check in the condition tells the verifier where i is; break is allowed
 * (the iterator is destroyed when the loop's scope ends, by the cleanup attribute). */
#ifndef bpf_for
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

/* Starts the iterator; returns NULL for the loop's second declarator. Naming
 * bpf_iter_num_destroy here makes clang emit its extern (a call made only by a cleanup
 * attribute would otherwise lack its BTF declaration). */
static __always_inline void *bpfq_iter_num_start(struct bpf_iter_num *it, int start, int end)
{
	(void)bpf_iter_num_destroy;
	bpf_iter_num_new(it, start, end);
	return NULL;
}

#define bpf_for(i, start, end)                                                                    \
	for (struct bpf_iter_num bpfq_it_ __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))), \
	     *bpfq_it_unused_ __attribute__((unused)) = bpfq_iter_num_start(&bpfq_it_, (start), (end)); \
	     ({                                                                                    \
		     int *bpfq_cur_ = bpf_iter_num_next(&bpfq_it_);                                \
		     bpfq_cur_ && ((i) = *bpfq_cur_, (i) >= (start) && (i) < (end));               \
	     });)
#endif

/* ---- qdisc kfuncs (net/sched/bpf_qdisc.c) ---- */

/* The deferred-free list of an enqueue (its third argument); only passed through. Defined by a
 * vmlinux.h of a kernel built with the BPF qdisc (and by bpfq's); a declaration is enough here. */
struct bpf_sk_buff_ptr;

/* The flow hash (skb_get_hash). All ops. */
extern __u32 bpf_skb_get_hash(struct sk_buff *skb) __ksym;
/* Frees a packet we own (not counted as a qdisc drop). All ops. */
extern void bpf_kfree_skb(struct sk_buff *skb) __ksym;
/* Drops a packet onto the enqueue's to_free list (Linux's __qdisc_drop). Enqueue only. The
 * program counts it in sch->qstats.drops itself. */
extern void bpf_qdisc_skb_drop(struct sk_buff *skb, struct bpf_sk_buff_ptr *to_free) __ksym;
/* Runs dequeue again at absolute time `expire` (bpf_ktime_get_ns() clock), give or take
 * `delta_ns`. Enqueue and dequeue. */
extern void bpf_qdisc_watchdog_schedule(struct Qdisc *sch, __u64 expire, __u64 delta_ns) __ksym;
/* Counts a packet being dequeued in the qdisc's byte/packet stats. Dequeue only. */
extern void bpf_qdisc_bstats_update(struct Qdisc *sch, const struct sk_buff *skb) __ksym;

/* A read-only dynptr over a packet we hold (Linux passes it as the uapi struct __sk_buff *):
 * read it with bpf_dynptr_read or bpf_dynptr_slice. All ops. It is valid while we hold the
 * packet; once dropped or stored into a field, using it ends the run. */
struct __sk_buff;
extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
/* `size` bytes at `offset` of the dynptr's data, read-only; NULL if they are not all there. */
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt,
			      __u32 buffer__szk) __ksym;

/* ---- constants (include/linux/netdevice.h, include/uapi/linux/pkt_sched.h) ---- */

/* enqueue's return value */
#ifndef NET_XMIT_SUCCESS
#define NET_XMIT_SUCCESS 0x00 /* queued */
#define NET_XMIT_DROP 0x01    /* dropped (this packet) */
#define NET_XMIT_CN 0x02      /* congestion: a packet of this flow was dropped */
#endif

#ifndef TC_PRIO_CONTROL
#define TC_PRIO_CONTROL 7
#endif
#ifndef TC_PRIO_MAX
#define TC_PRIO_MAX 15
#endif

/* ---- the qdisc's view of skb->cb ---- */

/* skb->cb as struct qdisc_skb_cb: pkt_len (read only: the bytes the packet counts for, set
 * before enqueue) and data[] (the qdisc's own 20 bytes, writable). */
static __always_inline struct qdisc_skb_cb *qdisc_skb_cb(const struct sk_buff *skb)
{
	return (struct qdisc_skb_cb *)skb->cb;
}

/* The packet's length for qdisc accounting (backlog, byte stats): Linux's qdisc_pkt_len. */
static __always_inline unsigned int qdisc_pkt_len(const struct sk_buff *skb)
{
	return qdisc_skb_cb(skb)->pkt_len;
}

#endif
