/* Loader test: two locks beside a list head in one private(X) section (which one guards it?). */
#include "runtime_graph.h"

struct item {
	__u64 key;
	struct bpf_list_node node;
};

private(A) struct bpf_spin_lock lock1;
private(A) struct bpf_spin_lock lock2;
private(A) struct bpf_list_head items __contains(item, node);

SEC("graph/t") int t(void *ctx)
{
	struct item *it = bpf_obj_new(struct item);

	if (it)
		bpf_obj_drop(it);
	return bpf_list_pop_front(&items) != 0;
}

char LICENSE[] SEC("license") = "GPL";
