/* Loader test: a list head in a private(X) section without a bpf_spin_lock beside it. */
#include "runtime_graph.h"

struct item {
	__u64 key;
	struct bpf_list_node node;
};

private(A) struct bpf_list_head items __contains(item, node);

SEC("graph/t") int t(void *ctx)
{
	struct item *it = bpf_obj_new(struct item);

	if (it)
		bpf_obj_drop(it);
	return bpf_list_pop_front(&items) != 0;
}

char LICENSE[] SEC("license") = "GPL";
