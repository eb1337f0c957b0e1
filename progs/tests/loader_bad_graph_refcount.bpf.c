/* Loader test: an object that is a list node and an rb node but has no bpf_refcount. */
#include "runtime_graph.h"

struct both {
	__u64 key;
	struct bpf_list_node list_node;
	struct bpf_rb_node rb_node;
};

SEC("graph/t") int t(void *ctx)
{
	struct both *b = bpf_obj_new(struct both);

	if (b)
		bpf_obj_drop(b);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
