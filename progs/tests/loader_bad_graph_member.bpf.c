/* Loader test: __contains names a member that is not a bpf_rb_node. */
#include "runtime_graph.h"

struct item {
	__u64 key;
	struct bpf_list_node node;
};

private(A) struct bpf_spin_lock lock;
private(A) struct bpf_rb_root tree __contains(item, node);

SEC("graph/t") int t(void *ctx)
{
	struct item *it = bpf_obj_new(struct item);

	if (it)
		bpf_obj_drop(it);
	return bpf_rbtree_first(&tree) != 0;
}

char LICENSE[] SEC("license") = "GPL";
